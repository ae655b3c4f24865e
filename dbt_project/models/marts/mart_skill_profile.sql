with evidence as (

    select person_key, skill_id, evidence_at, level, weight
    from {{ ref('int_skill__evidence') }}

),

aggregated as (

    select
        person_key,
        skill_id,
        sum(weight * level) / sum(weight) as weighted_level,
        sum(weight) as evidence_weight,
        count(*) as evidence_count,
        max(evidence_at) as last_evidence_at
    from evidence
    group by person_key, skill_id

)

select
    person_key,
    skill_id,
    least(greatest(weighted_level, 0), 5) as estimated_level,
    evidence_weight / (evidence_weight + {{ var('confidence_prior_weight') }}) as confidence,
    evidence_count,
    evidence_weight,
    last_evidence_at
from aggregated
