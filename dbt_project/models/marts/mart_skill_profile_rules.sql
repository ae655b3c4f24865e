{#-
    The parameters mart_skill_profile was built with, as data: ml.evidence applies the
    profile's rule at other dates (the hold-out's cutoff) and reads them from here, so a
    build with other --vars and the Python that judges it cannot disagree.
-#}
select
    cast({{ var('evidence_half_life_days') }} as double) as evidence_half_life_days,
    cast({{ var('confidence_prior_weight') }} as double) as confidence_prior_weight
