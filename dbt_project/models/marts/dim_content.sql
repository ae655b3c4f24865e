select
    content_id,
    title,
    format,
    duration_minutes,
    case
        when duration_minutes is null then 'unknown'
        when duration_minutes < 10 then '0-10m'
        when duration_minutes < 30 then '10-30m'
        when duration_minutes < 60 then '30-60m'
        when duration_minutes < 180 then '1-3h'
        else '3h+'
    end as duration_band,
    level,
    language,
    provider,
    is_active
from {{ ref('stg_lms__catalog') }}
