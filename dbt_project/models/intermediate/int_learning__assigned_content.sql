{#-
    Content the LMS assigned, from the statements that mark an assignment: their verb, or
    a key of their context.extensions or result.extensions, is listed in var
    assignment_iris (an extension whose value is false or null marks nothing). With the
    list empty, the default, no statement is read.
-#}
{%- set iris = var('assignment_iris') -%}

with statements as (

    select
        content_id,
        person_key,
        event_at,
        verb_id,
        payload
    from {{ ref('int_learning__events') }}
    where in_catalog
    {%- if iris | length == 0 %}
        and false
    {%- endif %}

),

marking as (

    select
        content_id,
        person_key,
        event_at
    from statements
    where false
    {%- for iri in iris %}
        {%- set quoted = "'" ~ (iri | replace("'", "''")) ~ "'" %}
        {%- set key = (iri | replace("'", "''") | replace('"', '\\"')) %}
        or verb_id = {{ quoted }}
        or coalesce(json_extract_string(payload, '$.context.extensions."{{ key }}"'), 'false')
            not in ('false', 'null')
        or coalesce(json_extract_string(payload, '$.result.extensions."{{ key }}"'), 'false')
            not in ('false', 'null')
    {%- endfor %}

)

select
    content_id,
    count(distinct person_key) as assigned_persons,
    min(event_at) as first_assigned_at
from marking
group by content_id
