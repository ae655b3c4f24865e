with gaps as (

    select department, skill_id, required_level, importance, gap, weighted_gap, confidence
    from {{ ref('mart_skill_gaps') }}

),

skills as (

    select skill_id, name, category
    from {{ ref('dim_skill') }}

),

grouped as (

    select
        department,
        skill_id,
        count(*) as headcount,
        sum(case when gap > 0 then 1 else 0 end) as persons_short,
        avg(gap) as mean_gap,
        avg(weighted_gap) as mean_weighted_gap,
        avg(confidence) as mean_confidence,
        sum(weighted_gap) as total_weighted_gap,
        sum(gap * importance) as importance_weighted_gap,
        sum(required_level * importance) as importance_weighted_requirement
    from gaps
    group by department, skill_id

),

protected as (

    select
        department,
        skill_id,
        headcount >= {{ var('min_group_size') }} as is_reported,
        headcount,
        persons_short,
        mean_gap,
        mean_weighted_gap,
        mean_confidence,
        total_weighted_gap,
        importance_weighted_gap,
        importance_weighted_requirement
    from grouped

)

-- groups under var min_group_size keep their row (so the suppression is visible) but
-- lose every figure: with a handful of persons, a mean gap describes individuals
select
    protected.department,
    protected.skill_id,
    skills.name as skill_name,
    skills.category as skill_category,
    not protected.is_reported as is_suppressed,
    {{ var('min_group_size') }} as min_group_size,
    case when protected.is_reported then protected.headcount end as headcount,
    case when protected.is_reported then protected.persons_short end as persons_short,
    case
        when protected.is_reported then protected.persons_short * 1.0 / protected.headcount
    end as share_short,
    case when protected.is_reported then protected.mean_gap end as mean_gap,
    case when protected.is_reported then protected.mean_weighted_gap end as mean_weighted_gap,
    case when protected.is_reported then protected.mean_confidence end as mean_confidence,
    case
        when protected.is_reported
            then protected.total_weighted_gap * {{ var('hours_per_skill_level') }}
    end as learning_debt_hours,
    case
        when protected.is_reported
            then 100.0 * protected.importance_weighted_gap
                / protected.importance_weighted_requirement
    end as learning_debt_index
from protected
inner join skills
    on protected.skill_id = skills.skill_id
