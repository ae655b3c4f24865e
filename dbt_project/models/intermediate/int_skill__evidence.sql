{%- set reliability = var('evidence_reliability') -%}

with employees as (

    select person_key
    from {{ ref('stg_hr__employees') }}

),

as_of as (

    select as_of_date
    from {{ ref('int_as_of_date') }}

),

bias as (

    select self_rating_inflation
    from {{ ref('int_skill__self_rating_bias') }}

),

assessed as (

    select
        assessments.person_key,
        assessments.skill_id,
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

learned_items as (

    select
        items.person_key,
        taught.skill_id,
        case when items.is_passed then 'learning_passed' else 'learning_completed' end
            as evidence_source,
        items.completed_at as evidence_at,
        taught.level_taught * 1.0 as level,
        max(taught.level_taught) over (
            partition by items.person_key, taught.skill_id
        ) as highest_level_learned
    from {{ ref('int_learning__person_content') }} as items
    inner join {{ ref('stg_lms__content_skills') }} as taught
        on items.content_id = taught.content_id
    -- a failed item was finished, but it demonstrates the opposite of its level
    where items.is_completed
      and not items.is_failed

),

learned as (

    -- completing easier content after harder content says nothing new: only the items at
    -- the highest level learned count, so refreshers do not drag the estimate down
    select
        person_key,
        skill_id,
        evidence_source,
        evidence_at,
        level as reported_level,
        level
    from learned_items
    where level = highest_level_learned

),

all_evidence as (

    select person_key, skill_id, evidence_source, evidence_at, reported_level, level
    from assessed

    union all

    select person_key, skill_id, evidence_source, evidence_at, reported_level, level
    from learned

),

weighted as (

    select
        all_evidence.person_key,
        all_evidence.skill_id,
        all_evidence.evidence_source,
        all_evidence.evidence_at,
        all_evidence.reported_level,
        all_evidence.level,
        case all_evidence.evidence_source
            {%- for source_name, weight in reliability.items() %}
            when '{{ source_name }}' then {{ weight }}
            {%- endfor %}
        end as reliability,
        as_of.as_of_date,
        greatest(
            {{ dbt.datediff('all_evidence.evidence_at', 'as_of.as_of_date', 'day') }}, 0
        ) as age_days
    from all_evidence
    inner join employees
        on all_evidence.person_key = employees.person_key
    cross join as_of

)

select
    person_key,
    skill_id,
    evidence_source,
    evidence_at,
    reported_level,
    level,
    reliability,
    age_days,
    {{ evidence_weight('reliability', 'evidence_at', 'as_of_date') }} as weight
from weighted
