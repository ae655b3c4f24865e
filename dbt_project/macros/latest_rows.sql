{#-
    The latest version of each key in a raw table. Ingestion appends: a person exported
    in several HR files, or a catalogue re-exported, has one row per load, and the last
    load is the truth. Ties on `_loaded_at` fall back to the later source file, so the
    choice is deterministic.
-#}
{% macro latest_rows(relation, key_columns, order_by='_loaded_at desc, _source_file desc') %}
    select ranked.*
    from (
        select
            source_rows.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by {{ order_by }}
            ) as _version_rank
        from {{ relation }} as source_rows
    ) as ranked
    where ranked._version_rank = 1
{% endmacro %}
