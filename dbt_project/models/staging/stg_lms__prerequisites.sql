with source as (

    {{ latest_rows(
        source('raw', 'lms_prerequisites'),
        ['content_id', 'requires_content_id'],
        exclude_retired=true
    ) }}

)

select
    content_id,
    requires_content_id
from source
where content_id is not null
  and requires_content_id is not null
  and content_id <> requires_content_id
