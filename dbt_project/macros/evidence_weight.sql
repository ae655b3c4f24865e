{#-
    Weight of a piece of skill evidence on a reference date: its source's reliability,
    halved every var evidence_half_life_days of age (evidence after the reference date
    is not aged). One definition for today's profile and the monthly KPI history.
-#}
{% macro evidence_weight(reliability, evidence_at, reference_date) %}
    {{ reliability }} * power(
        0.5,
        greatest({{ dbt.datediff(evidence_at, reference_date, 'day') }}, 0) * 1.0
            / {{ var('evidence_half_life_days') }}
    )
{% endmacro %}
