with employees as (

    select person_key, department, job_code
    from {{ ref('dim_employee') }}
    where is_active
      and job_code is not null

),

requirements as (

    select job_code, skill_id, required_level, importance
    from {{ ref('stg_hr__role_skill_requirements') }}

),

profile as (

    select person_key, skill_id, estimated_level, confidence
    from {{ ref('mart_skill_profile') }}

),

compared as (

    select
        employees.person_key,
        employees.department,
        employees.job_code,
        requirements.skill_id,
        requirements.required_level,
        requirements.importance,
        -- no evidence is no demonstrated level, and no confidence in any level
        coalesce(profile.estimated_level, 0) as estimated_level,
        coalesce(profile.confidence, 0) as confidence
    from employees
    inner join requirements
        on employees.job_code = requirements.job_code
    left join profile
        on employees.person_key = profile.person_key
        and requirements.skill_id = profile.skill_id

)

select
    person_key,
    department,
    job_code,
    skill_id,
    required_level,
    importance,
    estimated_level,
    confidence,
    greatest(required_level - estimated_level, 0) as gap,
    greatest(required_level - estimated_level, 0) * importance / 5.0 as weighted_gap,
    estimated_level >= required_level as is_met
from compared
