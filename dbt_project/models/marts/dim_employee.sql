with employees as (

    select
        person_key,
        manager_key,
        department,
        job_code,
        location,
        hire_date,
        employment_type,
        status,
        leave_date
    from {{ ref('stg_hr__employees') }}

),

roles as (

    select job_code, job_title, job_family, seniority_level
    from {{ ref('stg_hr__roles') }}

),

consent as (

    select person_key, opted_out
    from {{ ref('stg_hr__personalisation_consent') }}

),

as_of as (

    select as_of_date
    from {{ ref('int_as_of_date') }}

),

dated as (

    select
        employees.person_key,
        employees.manager_key,
        employees.department,
        employees.job_code,
        roles.job_title,
        roles.job_family,
        roles.seniority_level,
        employees.location,
        employees.employment_type,
        employees.hire_date,
        employees.status,
        employees.leave_date,
        coalesce(consent.opted_out, false) as opted_out,
        employees.status = 'active'
            and (employees.leave_date is null or employees.leave_date > as_of.as_of_date)
            as is_active,
        employees.hire_date <= as_of.as_of_date
            and employees.hire_date
                > {{ dbt.dateadd('day', -var('new_hire_days'), 'as_of.as_of_date') }}
            as is_new_hire,
        greatest(
            {{ dbt.datediff(
                'employees.hire_date',
                'case when employees.leave_date < as_of.as_of_date
                    then employees.leave_date else as_of.as_of_date end',
                'month'
            ) }},
            0
        ) as tenure_months
    from employees
    left join roles
        on employees.job_code = roles.job_code
    left join consent
        on employees.person_key = consent.person_key
    cross join as_of

)

select
    person_key,
    manager_key,
    department,
    job_code,
    job_title,
    job_family,
    seniority_level,
    location,
    employment_type,
    hire_date,
    leave_date,
    status,
    tenure_months,
    case
        when tenure_months is null then 'unknown'
        when tenure_months < 3 then '0-3m'
        when tenure_months < 12 then '3-12m'
        when tenure_months < 24 then '1-2y'
        when tenure_months < 60 then '2-5y'
        else '5y+'
    end as tenure_band,
    is_active,
    coalesce(is_new_hire, false) as is_new_hire,
    opted_out
from dated
