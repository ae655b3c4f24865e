with source as (

    {{ latest_rows(source('raw', 'survey_pulse'), ['response_id']) }}

)

select
    response_id,
    person_key,
    cast(survey_date as date) as survey_date,
    engagement,
    enps,
    _loaded_at as loaded_at
from source
where response_id is not null
  and person_key is not null
