select
    taught.content_id,
    taught.skill_id,
    taught.level_taught
from {{ ref('stg_lms__content_skills') }} as taught
inner join {{ ref('stg_lms__catalog') }} as catalog
    on taught.content_id = catalog.content_id
