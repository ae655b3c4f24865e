{#-
    Did completing an item move the skills it teaches? Compare the person's assessed level
    of each taught skill just before and just after the completion. Self-ratings are left
    out: completing a course makes people feel better, not necessarily get better.
-#}
with completions as (

    select
        items.person_key,
        items.content_id,
        taught.skill_id,
        items.completed_at
    from {{ ref('int_learning__person_content') }} as items
    inner join {{ ref('stg_lms__content_skills') }} as taught
        on items.content_id = taught.content_id
    where items.is_completed

),

assessments as (

    select person_key, skill_id, level, assessed_at
    from {{ ref('stg_surveys__skill_assessments') }}
    where source <> 'self'

),

paired as (

    select
        completions.person_key,
        completions.content_id,
        completions.skill_id,
        assessments.level,
        assessments.assessed_at <= completions.completed_at as is_before,
        -- 1 = the assessment closest to the completion on its side
        row_number() over (
            partition by
                completions.person_key,
                completions.content_id,
                completions.skill_id,
                assessments.assessed_at <= completions.completed_at
            order by {{ dbt.datediff('assessments.assessed_at', 'completions.completed_at', 'second') }} * (
                case when assessments.assessed_at <= completions.completed_at then 1 else -1 end
            )
        ) as closeness_rank
    from completions
    inner join assessments
        on completions.person_key = assessments.person_key
        and completions.skill_id = assessments.skill_id

),

closest as (

    select
        person_key,
        content_id,
        skill_id,
        max(case when is_before then level end) as level_before,
        max(case when not is_before then level end) as level_after
    from paired
    where closeness_rank = 1
    group by person_key, content_id, skill_id

)

select
    person_key,
    content_id,
    skill_id,
    level_before,
    level_after,
    level_after - level_before as level_gain
from closest
where level_before is not null
  and level_after is not null
