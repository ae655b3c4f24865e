with events as (

    select
        person_key,
        content_id,
        in_catalog,
        verb,
        event_at,
        score_scaled,
        case when verb in ('completed', 'passed') or completion then 1 else 0 end as is_completion,
        case when verb = 'passed' or success then 1 else 0 end as is_pass,
        case when verb = 'failed' or not success then 1 else 0 end as is_fail,
        case
            when verb in ('completed', 'passed') or completion then 1.0
            else progress
        end as progress_reached
    from {{ ref('int_learning__events') }}

),

attempt_totals as (

    select
        person_key,
        content_id,
        sum(case when has_start then 1 else 0 end) as started_attempts,
        sum(time_spent_seconds) as time_spent_seconds
    from {{ ref('int_learning__attempts') }}
    group by person_key, content_id

),

per_item as (

    select
        person_key,
        content_id,
        max(case when in_catalog then 1 else 0 end) = 1 as in_catalog,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        count(*) as event_count,
        coalesce(max(progress_reached), 0) as max_progress,
        max(is_completion) = 1 as is_completed,
        max(is_pass) = 1 as is_passed,
        max(is_fail) = 1 and max(is_pass) = 0 as is_failed,
        min(case when is_completion = 1 then event_at end) as completed_at,
        max(score_scaled) as best_score_scaled
    from events
    group by person_key, content_id

)

select
    per_item.person_key,
    per_item.content_id,
    per_item.in_catalog,
    per_item.first_event_at,
    per_item.last_event_at,
    per_item.event_count,
    -- activity without a launch statement is still one attempt
    cast(greatest(attempt_totals.started_attempts, 1) as integer) as attempts,
    per_item.max_progress,
    per_item.is_completed,
    per_item.is_passed,
    per_item.is_failed,
    per_item.completed_at,
    per_item.best_score_scaled,
    attempt_totals.time_spent_seconds,
    (
        not per_item.is_completed
        and per_item.max_progress < {{ var('dropped_early_progress') }}
        and {{ dbt.datediff('per_item.last_event_at', 'as_of.as_of_date', 'day') }}
            >= {{ var('dropped_early_idle_days') }}
    ) as dropped_early
from per_item
inner join attempt_totals
    on per_item.person_key = attempt_totals.person_key
    and per_item.content_id = attempt_totals.content_id
cross join {{ ref('int_as_of_date') }} as as_of
