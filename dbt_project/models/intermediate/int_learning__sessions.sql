{#-
    A session is a run of a person's statements with no pause longer than
    var session_gap_minutes (default 30): the usual web-analytics cut, since xAPI has no
    notion of a session.
-#}
with events as (

    select
        person_key,
        event_at,
        lag(event_at) over (partition by person_key order by event_at) as previous_event_at
    from {{ ref('int_learning__events') }}

),

flagged as (

    select
        person_key,
        event_at,
        case
            when previous_event_at is null then 1
            when {{ dbt.datediff('previous_event_at', 'event_at', 'minute') }}
                > {{ var('session_gap_minutes') }} then 1
            else 0
        end as starts_session
    from events

),

numbered as (

    select
        person_key,
        event_at,
        sum(starts_session) over (
            partition by person_key order by event_at rows unbounded preceding
        ) as session_number
    from flagged

)

select
    person_key,
    session_number,
    min(event_at) as started_at,
    max(event_at) as ended_at,
    count(*) as event_count,
    {{ dbt.datediff('min(event_at)', 'max(event_at)', 'second') }} as span_seconds
from numbered
group by person_key, session_number
