{#- Rows for which a row-level rule (a SQL boolean expression) does not hold. -#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}
