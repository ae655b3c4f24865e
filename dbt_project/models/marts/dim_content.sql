with catalog as (

    select
        content_id,
        title,
        format,
        duration_minutes,
        level,
        language,
        provider,
        is_active,
        is_mandatory
    from {{ ref('stg_lms__catalog') }}

),

assigned as (

    select content_id
    from {{ ref('int_learning__assigned_content') }}

)

select
    catalog.content_id,
    catalog.title,
    catalog.format,
    catalog.duration_minutes,
    case
        when catalog.duration_minutes is null then 'unknown'
        when catalog.duration_minutes < 10 then '0-10m'
        when catalog.duration_minutes < 30 then '10-30m'
        when catalog.duration_minutes < 60 then '30-60m'
        when catalog.duration_minutes < 180 then '1-3h'
        else '3h+'
    end as duration_band,
    catalog.level,
    catalog.language,
    catalog.provider,
    catalog.is_active,
    (catalog.is_mandatory or assigned.content_id is not null) as is_mandatory,
    case
        when catalog.is_mandatory then 'catalog'
        when assigned.content_id is not null then 'lms_assignment'
    end as mandatory_source
from catalog
left join assigned
    on catalog.content_id = assigned.content_id
