with months as (

    select month_start
    from {{ ref('int_calendar__months') }}

),

learners as (

    select
        cast({{ dbt.date_trunc('month', 'event_at') }} as date) as month_start,
        count(distinct person_key) as active_learners
    from {{ ref('int_learning__events') }}
    group by cast({{ dbt.date_trunc('month', 'event_at') }} as date)

),

started_items as (

    -- cohort view: items started in the month, and how many of them got completed since
    select
        cast({{ dbt.date_trunc('month', 'first_event_at') }} as date) as month_start,
        count(*) as items_started,
        sum(case when is_completed then 1 else 0 end) as items_started_completed
    from {{ ref('fct_content_engagement') }}
    group by cast({{ dbt.date_trunc('month', 'first_event_at') }} as date)

),

completed_items as (

    select
        cast({{ dbt.date_trunc('month', 'completed_at') }} as date) as month_start,
        count(*) as items_completed
    from {{ ref('fct_content_engagement') }}
    where completed_at is not null
    group by cast({{ dbt.date_trunc('month', 'completed_at') }} as date)

),

hours as (

    select
        cast({{ dbt.date_trunc('month', 'ended_at') }} as date) as month_start,
        sum(time_spent_seconds) / 3600.0 as learning_hours
    from {{ ref('int_learning__attempts') }}
    group by cast({{ dbt.date_trunc('month', 'ended_at') }} as date)

),

pulse as (

    select
        cast({{ dbt.date_trunc('month', 'survey_date') }} as date) as month_start,
        count(*) as pulse_responses,
        avg(engagement * 1.0) as pulse_engagement,
        100.0 * (
            sum(case when enps >= 9 then 1 else 0 end)
            - sum(case when enps <= 6 then 1 else 0 end)
        ) / nullif(count(enps), 0) as enps
    from {{ ref('stg_surveys__pulse') }}
    group by cast({{ dbt.date_trunc('month', 'survey_date') }} as date)

),

first_proof as (

    -- the first evidence of each required skill at the required level
    select
        employees.person_key,
        requirements.skill_id,
        min(evidence.evidence_at) as proven_at
    from {{ ref('dim_employee') }} as employees
    inner join {{ ref('stg_hr__role_skill_requirements') }} as requirements
        on employees.job_code = requirements.job_code
    left join {{ ref('int_skill__evidence') }} as evidence
        on employees.person_key = evidence.person_key
        and requirements.skill_id = evidence.skill_id
        and evidence.level >= requirements.required_level
    group by employees.person_key, requirements.skill_id

),

ramp_up as (

    -- ramped up once every required skill was proven; null while one is missing
    select
        person_key,
        case when count(proven_at) = count(*) then max(proven_at) end as ramped_up_at
    from first_proof
    group by person_key

),

hires as (

    select
        cast({{ dbt.date_trunc('month', 'employees.hire_date') }} as date) as month_start,
        count(*) as new_hires,
        count(ramp_up.ramped_up_at) as new_hires_ramped_up,
        avg(
            case when ramp_up.ramped_up_at is not null then greatest(
                {{ dbt.datediff('employees.hire_date', 'ramp_up.ramped_up_at', 'day') }}, 0
            ) end
        ) as days_to_ramp_up
    from {{ ref('dim_employee') }} as employees
    left join ramp_up
        on employees.person_key = ramp_up.person_key
    group by cast({{ dbt.date_trunc('month', 'employees.hire_date') }} as date)

),

requirements_met as (

    select month_start, requirements, requirements_met
    from {{ ref('int_skill__requirements_met_by_month') }}

)

select
    months.month_start,
    cast(coalesce(learners.active_learners, 0) as integer) as active_learners,
    cast(coalesce(started_items.items_started, 0) as integer) as items_started,
    cast(coalesce(completed_items.items_completed, 0) as integer) as items_completed,
    started_items.items_started_completed * 1.0 / nullif(started_items.items_started, 0)
        as completion_rate,
    coalesce(hours.learning_hours, 0) as learning_hours,
    cast(coalesce(pulse.pulse_responses, 0) as integer) as pulse_responses,
    pulse.pulse_engagement,
    pulse.enps,
    cast(coalesce(hires.new_hires, 0) as integer) as new_hires,
    cast(coalesce(hires.new_hires_ramped_up, 0) as integer) as new_hires_ramped_up,
    hires.days_to_ramp_up,
    requirements_met.requirements_met * 1.0 / nullif(requirements_met.requirements, 0)
        as share_required_skills_met
from months
left join learners on months.month_start = learners.month_start
left join started_items on months.month_start = started_items.month_start
left join completed_items on months.month_start = completed_items.month_start
left join hours on months.month_start = hours.month_start
left join pulse on months.month_start = pulse.month_start
left join hires on months.month_start = hires.month_start
left join requirements_met on months.month_start = requirements_met.month_start
