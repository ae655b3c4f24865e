{#-
    "Now" for tenure, new hires, recency and drop-off: the latest activity date in the
    data, not the wall clock, so a rebuild of the same data gives the same marts. An event
    dated more than a day after its row was loaded is a wrong clock (an LMS default date,
    a mistyped year), not "now": it cannot move the marts' today. Ingestion quarantines
    such rows (implausible_time); this keeps rows loaded before it did out too.
-#}
with activity_dates as (

    select cast(max(event_at) as date) as activity_date
    from {{ ref('stg_lms__statements') }}
    where event_at <= {{ dbt.dateadd('day', 1, 'loaded_at') }}

    union all

    select max(survey_date)
    from {{ ref('stg_surveys__pulse') }}
    where survey_date <= {{ dbt.dateadd('day', 1, 'loaded_at') }}

    union all

    select cast(max(assessed_at) as date)
    from {{ ref('stg_surveys__skill_assessments') }}
    where assessed_at <= {{ dbt.dateadd('day', 1, 'loaded_at') }}

    union all

    select cast(max(submitted_at) as date)
    from {{ ref('stg_surveys__course_feedback') }}
    where submitted_at <= {{ dbt.dateadd('day', 1, 'loaded_at') }}

),

hire_dates as (

    select max(hire_date) as latest_hire_date
    from {{ ref('stg_hr__employees') }}
    where hire_date <= {{ dbt.dateadd('day', 1, 'loaded_at') }}

)

select
    -- no activity at all: the latest hire; an empty warehouse: today
    coalesce(
        (select max(activity_date) from activity_dates),
        (select latest_hire_date from hire_dates),
        current_date
    ) as as_of_date
