{#-
    The months the KPIs report on: from the first month with activity to the data's
    "now", at most var kpi_months of them. reference_date is the month's last day, or
    "now" for the current month, so the last KPI month matches today's marts.
-#}
with as_of as (

    select
        as_of_date,
        cast({{ dbt.date_trunc('month', 'as_of_date') }} as date) as as_of_month
    from {{ ref('int_as_of_date') }}

),

first_activity as (

    select cast({{ dbt.date_trunc('month', 'min(activity_at)') }} as date) as first_month
    from (
        select min(event_at) as activity_at from {{ ref('int_learning__events') }}
        union all
        select min(cast(survey_date as {{ dbt.type_timestamp() }}))
        from {{ ref('stg_surveys__pulse') }}
    ) as starts

),

offsets as (

    {{ dbt.generate_series(var('kpi_months')) }}

),

months as (

    select
        cast({{ dbt.dateadd('month', '1 - offsets.generated_number', 'as_of.as_of_month') }} as date)
            as month_start,
        as_of.as_of_month,
        as_of.as_of_date
    from offsets
    cross join as_of

)

select
    months.month_start,
    cast({{ dbt.last_day('months.month_start', 'month') }} as date) as month_end,
    case
        when {{ dbt.last_day('months.month_start', 'month') }} < months.as_of_date
            then cast({{ dbt.last_day('months.month_start', 'month') }} as date)
        else months.as_of_date
    end as reference_date
from months
cross join first_activity
-- without any activity, only the current month
where months.month_start >= coalesce(first_activity.first_month, months.as_of_month)
