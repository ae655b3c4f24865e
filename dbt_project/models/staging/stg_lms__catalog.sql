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
    coalesce(active, true) as is_active,
    -- a catalogue without the optional column has nothing assigned
    coalesce(mandatory, false) as is_mandatory
from source
where content_id is not null
