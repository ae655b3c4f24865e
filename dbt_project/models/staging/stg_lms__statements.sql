with source as (

    {{ latest_rows(source('raw', 'lms_statements'), ['statement_id']) }}

),

renamed as (

    select
        statement_id,
        person_key,
        verb_id,
        -- ADL verbs end in their name: http://adlnet.gov/expapi/verbs/completed -> completed
        lower({{ dbt.split_part('verb_id', "'/'", -1) }}) as verb,
        object_id,
        coalesce(object_in_catalog, false) as in_catalog,
        registration,
        coalesce("timestamp", stored) as event_at,
        stored as stored_at,
        result_score_scaled as score_scaled,
        result_success as success,
        result_completion as completion,
        result_duration_seconds as duration_seconds,
        progress,
        coalesce(voided, false) as is_voided,
        voids_statement_id,
        payload,
        _loaded_at as loaded_at
    from source
    where statement_id is not null

)

select
    statement_id,
    person_key,
    verb_id,
    verb,
    object_id,
    in_catalog,
    registration,
    event_at,
    stored_at,
    score_scaled,
    success,
    completion,
    duration_seconds,
    progress,
    is_voided,
    voids_statement_id,
    (voids_statement_id is not null or verb = 'voided') as is_voiding,
    payload,
    loaded_at
from renamed
