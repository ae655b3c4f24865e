with content as (

    select content_id, title, format, level, is_active
    from {{ ref('dim_content') }}

),

engagement as (

    select
        content_id,
        count(*) as learners,
        sum(case when is_completed then 1 else 0 end) as completions,
        sum(case when is_passed then 1 else 0 end) as passes,
        sum(case when is_failed then 1 else 0 end) as fails,
        sum(case when dropped_early then 1 else 0 end) as dropouts,
        avg(case when dropped_early then max_progress end) as mean_dropoff_progress,
        avg(case when is_completed then time_spent_seconds end) / 60.0
            as mean_minutes_to_complete
    from {{ ref('fct_content_engagement') }}
    group by content_id

),

feedback as (

    select
        content_id,
        count(rating) as rating_count,
        avg(rating * 1.0) as mean_rating,
        avg(relevance * 1.0) as mean_relevance
    from {{ ref('stg_surveys__course_feedback') }}
    group by content_id

),

gain as (

    select
        content_id,
        count(*) as skill_gain_observations,
        avg(level_gain * 1.0) as skill_gain_proxy
    from {{ ref('int_learning__skill_gain') }}
    group by content_id

)

select
    content.content_id,
    content.title,
    content.format,
    content.level,
    content.is_active,
    cast(coalesce(engagement.learners, 0) as integer) as learners,
    cast(coalesce(engagement.completions, 0) as integer) as completions,
    engagement.completions * 1.0 / nullif(engagement.learners, 0) as completion_rate,
    engagement.dropouts * 1.0 / nullif(engagement.learners, 0) as dropoff_rate,
    engagement.mean_dropoff_progress,
    engagement.passes * 1.0 / nullif(engagement.passes + engagement.fails, 0) as pass_rate,
    engagement.mean_minutes_to_complete,
    cast(coalesce(feedback.rating_count, 0) as integer) as rating_count,
    feedback.mean_rating,
    feedback.mean_relevance,
    cast(coalesce(gain.skill_gain_observations, 0) as integer) as skill_gain_observations,
    gain.skill_gain_proxy
from content
left join engagement
    on content.content_id = engagement.content_id
left join feedback
    on content.content_id = feedback.content_id
left join gain
    on content.content_id = gain.content_id
