{%- set formats = var('content_formats') -%}
{%- set prior = var('affinity_prior_items') -%}

with employees as (

    select person_key
    from {{ ref('dim_employee') }}

),

as_of as (

    select as_of_date
    from {{ ref('int_as_of_date') }}

),

items as (

    select
        engagement.person_key,
        content.format,
        engagement.is_completed,
        engagement.dropped_early
    from {{ ref('fct_content_engagement') }} as engagement
    inner join {{ ref('dim_content') }} as content
        on engagement.content_id = content.content_id

),

time_spent as (

    -- all activity counts as learning time, catalogue or not
    select person_key, sum(time_spent_seconds) as time_spent_seconds
    from {{ ref('int_learning__person_content') }}
    group by person_key

),

person_items as (

    select
        person_key,
        count(*) as items_started,
        sum(case when is_completed then 1 else 0 end) as items_completed,
        sum(case when dropped_early then 1 else 0 end) as items_dropped
        {%- for format in formats %},
        sum(case when format = '{{ format }}' then 1 else 0 end) as started_{{ format }},
        sum(case when format = '{{ format }}' and is_completed then 1 else 0 end)
            as completed_{{ format }}
        {%- endfor %}
    from items
    group by person_key

),

format_rates as (

    -- everyone's completion rate per format: the prior each person's affinity starts from
    select
        1 as joiner
        {%- for format in formats %},
        coalesce(
            sum(case when format = '{{ format }}' and is_completed then 1 else 0 end) * 1.0
            / nullif(sum(case when format = '{{ format }}' then 1 else 0 end), 0),
            sum(case when is_completed then 1 else 0 end) * 1.0 / nullif(count(*), 0),
            0.5
        ) as rate_{{ format }}
        {%- endfor %}
    from items

),

session_hours as (

    select
        person_key,
        extract(hour from started_at) as hour_of_day,
        count(*) as sessions
    from {{ ref('int_learning__sessions') }}
    group by person_key, extract(hour from started_at)

),

typical_hour as (

    select person_key, hour_of_day
    from (
        select
            person_key,
            hour_of_day,
            row_number() over (
                partition by person_key order by sessions desc, hour_of_day
            ) as hour_rank
        from session_hours
    ) as ranked
    where hour_rank = 1

),

recent_pulse as (

    select
        pulse.person_key,
        pulse.engagement,
        pulse.enps,
        row_number() over (
            partition by pulse.person_key order by pulse.survey_date desc, pulse.response_id desc
        ) as recency_rank
    from {{ ref('stg_surveys__pulse') }} as pulse
    cross join as_of
    where pulse.survey_date
        > {{ dbt.dateadd('day', -var('pulse_window_days'), 'as_of.as_of_date') }}

),

pulse as (

    select
        person_key,
        avg(engagement * 1.0) as pulse_engagement,
        max(case when recency_rank = 1 then enps end) as enps
    from recent_pulse
    group by person_key

)

select
    employees.person_key,
    coalesce(time_spent.time_spent_seconds, 0) / 3600.0 as learning_hours,
    coalesce(person_items.items_started, 0) as items_started,
    coalesce(person_items.items_completed, 0) as items_completed,
    person_items.items_completed * 1.0 / nullif(person_items.items_started, 0)
        as completion_rate,
    person_items.items_dropped * 1.0 / nullif(person_items.items_started, 0) as dropoff_rate,
    typical_hour.hour_of_day as typical_learning_hour,
    pulse.pulse_engagement,
    pulse.enps
    {%- for format in formats %},
    (coalesce(person_items.completed_{{ format }}, 0) + {{ prior }} * format_rates.rate_{{ format }})
        / (coalesce(person_items.started_{{ format }}, 0) + {{ prior }}) as affinity_{{ format }}
    {%- endfor %}
from employees
cross join format_rates
left join time_spent
    on employees.person_key = time_spent.person_key
left join person_items
    on employees.person_key = person_items.person_key
left join typical_hour
    on employees.person_key = typical_hour.person_key
left join pulse
    on employees.person_key = pulse.person_key
