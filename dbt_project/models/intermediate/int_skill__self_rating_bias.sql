{#-
    How much self-ratings overshoot, measured where the same person and skill also have
    an objective rating (test, else manager). Too few such pairs and the measurement is
    noise, so the configured default applies instead.
-#}
with assessments as (

    select
        person_key,
        skill_id,
        source,
        level
    from {{ ref('stg_surveys__skill_assessments') }}

),

self_ratings as (

    select person_key, skill_id, avg(level * 1.0) as self_level
    from assessments
    where source = 'self'
    group by person_key, skill_id

),

reference_ratings as (

    select
        person_key,
        skill_id,
        coalesce(
            avg(case when source = 'test' then level * 1.0 end),
            avg(case when source = 'manager' then level * 1.0 end)
        ) as reference_level
    from assessments
    where source in ('test', 'manager')
    group by person_key, skill_id

),

pairs as (

    select self_ratings.self_level - reference_ratings.reference_level as inflation
    from self_ratings
    inner join reference_ratings
        on self_ratings.person_key = reference_ratings.person_key
        and self_ratings.skill_id = reference_ratings.skill_id

)

select
    count(*) as pair_count,
    avg(inflation) as measured_inflation,
    case
        when count(*) >= {{ var('self_rating_min_pairs') }} then greatest(avg(inflation), 0)
        else {{ var('self_rating_inflation_default') }}
    end as self_rating_inflation
from pairs
