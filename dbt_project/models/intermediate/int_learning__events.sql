{{ config(materialized='view') }}

select
    statement_id,
    person_key,
    object_id as content_id,
    verb,
    verb_id,
    registration,
    event_at,
    in_catalog,
    score_scaled,
    success,
    completion,
    duration_seconds,
    progress,
    payload,
    loaded_at
from {{ ref('stg_lms__statements') }}
where not is_voided
  and not is_voiding
