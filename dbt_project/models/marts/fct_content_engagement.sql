with items as (

    select
        person_key,
        content_id,
        first_event_at,
        last_event_at,
        attempts,
        max_progress,
        is_completed,
        is_passed,
        is_failed,
        completed_at,
        best_score_scaled,
        time_spent_seconds,
        dropped_early
    from {{ ref('int_learning__person_content') }}

),

feedback as (

    {{ latest_rows(
        ref('stg_surveys__course_feedback'),
        ['person_key', 'content_id'],
        order_by='submitted_at desc nulls last, response_id desc'
    ) }}

)

select
    items.person_key,
    items.content_id,
    items.first_event_at,
    items.last_event_at,
    items.attempts,
    items.max_progress,
    items.is_completed,
    items.is_passed,
    items.is_failed,
    items.completed_at,
    items.best_score_scaled,
    items.time_spent_seconds,
    items.dropped_early,
    feedback.rating,
    feedback.relevance
from items
inner join {{ ref('stg_lms__catalog') }} as catalog
    on items.content_id = catalog.content_id
left join feedback
    on items.person_key = feedback.person_key
    and items.content_id = feedback.content_id
