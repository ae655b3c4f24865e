with source as (

    {{ latest_rows(source('raw', 'lms_catalog'), ['content_id']) }}

)

select
    content_id,
    title,
    lower(trim(format)) as format,
    duration_minutes,
    level,
    language,
    provider,
    coalesce(active, true) as is_active
from source
where content_id is not null
