{#-
    The latest version of each key in a raw table. Ingestion appends: a person exported
    in several HR files, or a catalogue re-exported, has one row per load, and the last
    load is the truth. Ties on `_loaded_at` fall back to the later source file, so the
    choice is deterministic.

    `exclude_retired`: for snapshot sources whose keys absent from the latest delivery
    are removed (role requirements, content skills, prerequisites), ingestion appends a
    tombstone row with `_retired_by` in `_extra`; a key whose latest version is one is
    left out.
-#}
{% macro latest_rows(relation, key_columns, order_by='_loaded_at desc, _source_file desc', exclude_retired=false) %}
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
    {%- if exclude_retired %}
      and coalesce(ranked._extra, '') not like '%"_retired_by"%'
    {%- endif %}
{% endmacro %}
