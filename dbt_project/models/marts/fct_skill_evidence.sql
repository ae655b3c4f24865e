{#-
    Every piece of evidence of a person's level in a skill, as it happened: no recency
    weight and no "highest level learned" filter, since both depend on the date the
    evidence is judged at (int_skill__evidence judges it at the data's "now"; the
    recommender's evaluation rebuilds the profile at its cutoff from these rows,
    ml.evidence).
-#}
{%- set reliability = var('evidence_reliability') -%}

with employees as (

    select person_key
    from {{ ref('stg_hr__employees') }}

),

bias as (

    select self_rating_inflation
    from {{ ref('int_skill__self_rating_bias') }}

),

assessed as (

    select
        assessments.person_key,
        assessments.skill_id,
        'assessment' as evidence_kind,
        assessments.source as evidence_source,
        assessments.assessed_at as evidence_at,
        assessments.level * 1.0 as reported_level,
        case
            when assessments.source = 'self'
                then greatest(assessments.level - bias.self_rating_inflation, 0)
            else assessments.level * 1.0
        end as level
    from {{ ref('stg_surveys__skill_assessments') }} as assessments
    cross join bias

),

learned as (

    select
        items.person_key,
        taught.skill_id,
        'learning' as evidence_kind,
        case when items.is_passed then 'learning_passed' else 'learning_completed' end
            as evidence_source,
        items.completed_at as evidence_at,
        taught.level_taught * 1.0 as reported_level,
        taught.level_taught * 1.0 as level
    from {{ ref('int_learning__person_content') }} as items
    inner join {{ ref('stg_lms__content_skills') }} as taught
        on items.content_id = taught.content_id
    -- a failed item was finished, but it demonstrates the opposite of its level
    where items.is_completed
      and not items.is_failed

),

all_evidence as (

    select person_key, skill_id, evidence_kind, evidence_source, evidence_at, reported_level, level
    from assessed

    union all

    select person_key, skill_id, evidence_kind, evidence_source, evidence_at, reported_level, level
    from learned

)

select
    all_evidence.person_key,
    all_evidence.skill_id,
    all_evidence.evidence_kind,
    all_evidence.evidence_source,
    all_evidence.evidence_at,
    all_evidence.reported_level,
    all_evidence.level,
    case all_evidence.evidence_source
        {%- for source_name, weight in reliability.items() %}
        when '{{ source_name }}' then {{ weight }}
        {%- endfor %}
    end as reliability
from all_evidence
inner join employees
    on all_evidence.person_key = employees.person_key
