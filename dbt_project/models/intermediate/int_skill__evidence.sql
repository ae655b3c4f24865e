{#-
    The evidence that counts at the data's "now" (marts.fct_skill_evidence has every
    piece), weighted by reliability and recency. ml.evidence applies the same two rules
    at any other date; tests/test_ml_evidence.py keeps them equal.
-#}
with evidence as (

    select
        person_key,
        skill_id,
        evidence_kind,
        evidence_source,
        evidence_at,
        reported_level,
        level,
        reliability,
        -- completing easier content after harder content says nothing new: only the items
        -- at the highest level learned count, so refreshers do not drag the estimate down
        max(case when evidence_kind = 'learning' then level end) over (
            partition by person_key, skill_id
        ) as highest_level_learned
    from {{ ref('fct_skill_evidence') }}

),

as_of as (

    select as_of_date
    from {{ ref('int_as_of_date') }}

),

counted as (

    select
        evidence.person_key,
        evidence.skill_id,
        evidence.evidence_source,
        evidence.evidence_at,
        evidence.reported_level,
        evidence.level,
        evidence.reliability,
        as_of.as_of_date,
        greatest(
            {{ dbt.datediff('evidence.evidence_at', 'as_of.as_of_date', 'day') }}, 0
        ) as age_days
    from evidence
    cross join as_of
    where evidence.evidence_kind <> 'learning'
       or evidence.level = evidence.highest_level_learned

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
from counted
