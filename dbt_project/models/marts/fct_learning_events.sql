{{
    config(
        materialized='incremental',
        unique_key='statement_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=(
            "delete from {{ this }} where statement_id in ("
            "select statement_id from {{ ref('stg_lms__statements') }} where is_voided)"
        ),
    )
}}

{#-
    Daily runs add only statements loaded since the last run (statement ids are not
    ordered, load times are). A statement voided after it was loaded is deleted by the
    post-hook, so the fact never counts voided activity.
-#}
-- depends_on: {{ ref('stg_lms__statements') }}
select
    statement_id,
    person_key,
    content_id,
    verb,
    verb_id,
    registration,
    event_at,
    cast(event_at as date) as event_date,
    in_catalog,
    score_scaled,
    success,
    completion,
    duration_seconds,
    progress,
    loaded_at
from {{ ref('int_learning__events') }}
{% if is_incremental() %}
where loaded_at >= (select max(loaded_at) from {{ this }})
{% endif %}
