{#-
    "Now" for tenure, new hires, recency and drop-off: the latest activity date in the
    data, not the wall clock, so a rebuild of the same data gives the same marts.
-#}
with activity_dates as (

    select cast(max(event_at) as date) as activity_date
    from {{ ref('stg_lms__statements') }}

    union all

    select max(survey_date)
    from {{ ref('stg_surveys__pulse') }}

    union all

    select cast(max(assessed_at) as date)
    from {{ ref('stg_surveys__skill_assessments') }}

    union all

    select cast(max(submitted_at) as date)
    from {{ ref('stg_surveys__course_feedback') }}

),

hire_dates as (

    select max(hire_date) as latest_hire_date
    from {{ ref('stg_hr__employees') }}

)

select
    -- no activity at all: the latest hire; an empty warehouse: today
    coalesce(
        (select max(activity_date) from activity_dates),
        (select latest_hire_date from hire_dates),
        current_date
    ) as as_of_date
