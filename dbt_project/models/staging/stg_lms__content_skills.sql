with source as (

    {{ latest_rows(
        source('raw', 'lms_content_skills'), ['content_id', 'skill_id'], exclude_retired=true
    ) }}

)

select
    content_id,
    trim(skill_id) as skill_id,
    level_taught
from source
where content_id is not null
  and skill_id is not null
