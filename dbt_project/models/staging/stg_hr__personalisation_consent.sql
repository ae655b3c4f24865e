with source as (

    {{ latest_rows(
        source('raw', 'hr_personalisation_consent'),
        ['person_key'],
        order_by='changed_at desc nulls last, _loaded_at desc, _source_file desc'
    ) }}

)

select
    person_key,
    coalesce(opted_out, false) as opted_out,
    changed_at
from source
where person_key is not null
