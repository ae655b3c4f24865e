{#-
    Share of role requirements met, month by month: each month re-estimates every
    person's levels from the evidence available at its reference date, weighted as the
    profile is (macro evidence_weight), for the persons employed then. Persons are taken
    in their current role: HR snapshots do not tell past roles reliably.
-#}
with months as (

    select month_start, reference_date
    from {{ ref('int_calendar__months') }}

),

evidence as (

    select person_key, skill_id, evidence_at, level, reliability
    from {{ ref('int_skill__evidence') }}

),

estimates as (

    select
        months.month_start,
        evidence.person_key,
        evidence.skill_id,
        sum(
            {{ evidence_weight('evidence.reliability', 'evidence.evidence_at', 'months.reference_date') }}
            * evidence.level
        ) / sum(
            {{ evidence_weight('evidence.reliability', 'evidence.evidence_at', 'months.reference_date') }}
        ) as estimated_level
    from evidence
    inner join months
        on cast(evidence.evidence_at as date) <= months.reference_date
    group by months.month_start, evidence.person_key, evidence.skill_id

),

employed as (

    select
        months.month_start,
        employees.person_key,
        employees.job_code
    from {{ ref('dim_employee') }} as employees
    inner join months
        on employees.hire_date <= months.reference_date
        and (employees.leave_date is null or employees.leave_date > months.reference_date)
    where employees.job_code is not null

)

select
    employed.month_start,
    count(*) as requirements,
    sum(
        case when coalesce(estimates.estimated_level, 0) >= requirements.required_level then 1 else 0 end
    ) as requirements_met
from employed
inner join {{ ref('stg_hr__role_skill_requirements') }} as requirements
    on employed.job_code = requirements.job_code
left join estimates
    on employed.month_start = estimates.month_start
    and employed.person_key = estimates.person_key
    and requirements.skill_id = estimates.skill_id
group by employed.month_start
