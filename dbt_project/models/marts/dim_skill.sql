{#-
    Every skill any source mentions, so requirements, content and assessments never point
    to a missing skill; the taxonomy, when there is one, adds names and categories.
-#}
with mentioned as (

    select skill_id from {{ ref('stg_skills__skills') }}
    union
    select skill_id from {{ ref('stg_hr__role_skill_requirements') }}
    union
    select skill_id from {{ ref('stg_lms__content_skills') }}
    union
    select skill_id from {{ ref('stg_surveys__skill_assessments') }}

),

taxonomy as (

    select skill_id, skill_name, category, parent_skill_id
    from {{ ref('stg_skills__skills') }}

)

select
    mentioned.skill_id,
    coalesce(taxonomy.skill_name, mentioned.skill_id) as name,
    coalesce(taxonomy.category, 'uncategorised') as category,
    taxonomy.parent_skill_id,
    taxonomy.skill_id is not null as in_taxonomy
from mentioned
left join taxonomy
    on mentioned.skill_id = taxonomy.skill_id
