with source as (

    {{ latest_rows(source('raw', 'survey_skill_assessments'), ['assessment_id']) }}

)

select
    assessment_id,
    person_key,
    trim(skill_id) as skill_id,
    level,
    lower(trim(source)) as source,
    assessed_at,
    _loaded_at as loaded_at
from source
where assessment_id is not null
  and person_key is not null
  and skill_id is not null
  and level is not null
