with source as (

    {{ latest_rows(source('raw', 'hr_roles'), ['job_code']) }}

)

select
    trim(job_code) as job_code,
    title as job_title,
    job_family,
    level as seniority_level
from source
where job_code is not null
