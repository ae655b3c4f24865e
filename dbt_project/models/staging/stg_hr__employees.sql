with source as (

    {{ latest_rows(source('raw', 'hr_employees'), ['person_key']) }}

),

renamed as (

    select
        person_key,
        manager_key,
        coalesce(nullif(trim(department), ''), 'unknown') as department,
        nullif(trim(job_code), '') as job_code,
        nullif(trim(location), '') as location,
        cast(hire_date as date) as hire_date,
        lower(trim(employment_type)) as employment_type,
        lower(trim(status)) as status,
        cast(leave_date as date) as leave_date,
        _loaded_at as loaded_at
    from source
    where person_key is not null

)

select
    person_key,
    manager_key,
    department,
    job_code,
    location,
    hire_date,
    employment_type,
    status,
    leave_date,
    loaded_at
from renamed
