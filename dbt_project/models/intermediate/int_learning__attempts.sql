{#-
    An attempt is an xAPI registration; a statement without one is its own attempt. LMSs
    report the cumulative attempt duration (on terminated/completed), so the attempt's
    time is the longest duration reported in it, not the sum.
-#}
with events as (

    select
        person_key,
        content_id,
        coalesce(registration, statement_id) as attempt_key,
        event_at,
        duration_seconds,
        case when verb in ('launched', 'initialized', 'attempted') then 1 else 0 end as is_start
    from {{ ref('int_learning__events') }}

)

select
    person_key,
    content_id,
    attempt_key,
    min(event_at) as started_at,
    max(event_at) as ended_at,
    max(is_start) = 1 as has_start,
    coalesce(max(duration_seconds), 0) as time_spent_seconds
from events
group by person_key, content_id, attempt_key
