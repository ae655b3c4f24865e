with source as (

    {{ latest_rows(source('raw', 'skills'), ['skill_id']) }}

)

select
    trim(skill_id) as skill_id,
    name as skill_name,
    coalesce(nullif(trim(category), ''), 'uncategorised') as category,
    nullif(trim(parent_skill_id), '') as parent_skill_id
from source
where skill_id is not null
