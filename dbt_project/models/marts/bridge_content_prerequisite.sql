select
    prerequisites.content_id,
    prerequisites.requires_content_id
from {{ ref('stg_lms__prerequisites') }} as prerequisites
inner join {{ ref('stg_lms__catalog') }} as item
    on prerequisites.content_id = item.content_id
inner join {{ ref('stg_lms__catalog') }} as required_item
    on prerequisites.requires_content_id = required_item.content_id
