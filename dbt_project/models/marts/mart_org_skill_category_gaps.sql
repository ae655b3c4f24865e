with gaps as (

    select person_key, department, skill_id, gap
    from {{ ref('mart_skill_gaps') }}

),

skill_groups as (

    select department, skill_id, skill_category, is_suppressed
    from {{ ref('mart_org_skill_gaps') }}

),

departments as (

    select department, count(*) as department_headcount
    from {{ ref('dim_employee') }}
    where is_active
    group by department

),

pairs as (

    select
        gaps.department,
        skill_groups.skill_category,
        gaps.skill_id,
        gaps.person_key,
        gaps.gap,
        skill_groups.is_suppressed
    from gaps
    inner join skill_groups
        on gaps.department = skill_groups.department
        and gaps.skill_id = skill_groups.skill_id

),

-- persons are counted once per category however many of its skills they lack; only
-- skill groups the per-skill mart reports count, so a category figure never reveals a
-- group that mart withheld (its persons are neither added nor subtracted)
cells as (

    select
        department,
        skill_category,
        count(distinct skill_id) as skills_required,
        count(distinct case when is_suppressed then skill_id end) as skills_suppressed,
        count(distinct case when not is_suppressed then person_key end) as persons_required,
        count(distinct case when not is_suppressed and gap > 0 then person_key end)
            as persons_short,
        avg(case when not is_suppressed then gap end) as mean_gap
    from pairs
    group by department, skill_category

)

select
    cells.department,
    cells.skill_category,
    departments.department_headcount,
    cells.skills_required,
    cells.skills_suppressed,
    cells.skills_suppressed = cells.skills_required as is_suppressed,
    {{ var('min_group_size') }} as min_group_size,
    case when cells.persons_required > 0 then cells.persons_required end as persons_required,
    case when cells.persons_required > 0 then cells.persons_short end as persons_short,
    case
        when cells.persons_required > 0
            then cells.persons_short * 1.0 / cells.persons_required
    end as share_short,
    cells.mean_gap
from cells
inner join departments
    on cells.department = departments.department
