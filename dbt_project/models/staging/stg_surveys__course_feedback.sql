with source as (

    {{ latest_rows(source('raw', 'survey_course_feedback'), ['response_id']) }}

)

select
    response_id,
    person_key,
    content_id,
    rating,
    relevance,
    submitted_at,
    _loaded_at as loaded_at
from source
where response_id is not null
  and person_key is not null
  and content_id is not null
