with source as (

    {{ latest_rows(
        source('raw', 'hr_role_skill_requirements'), ['job_code', 'skill_id'], exclude_retired=true
    ) }}

)

select
    trim(job_code) as job_code,
    trim(skill_id) as skill_id,
    required_level,
    coalesce(importance, 3) as importance
from source
where job_code is not null
  and skill_id is not null
  and required_level is not null
