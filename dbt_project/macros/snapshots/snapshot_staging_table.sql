{#- dbt's snapshot staging query (adapter.dispatch('snapshot_staging_table', 'dbt')), compared
    against the current versions of the keys the run read only, not of every key.

    dbt's query reads the snapshot's current rows in a CTE it uses twice, so PostgreSQL
    materialises all of them: 5 s per build at a million loans, however few changed. With hard
    deletes ignored (the default) a key the run did not read can produce no row, so giving dbt
    the current rows of the read keys alone (through the partial index of snapshot_indexes())
    gives the same versions. Snapshots that invalidate hard deletes need every row: dbt's own. -#}
{% macro postgres__snapshot_staging_table(strategy, source_sql, target_relation) -%}
    {%- set key = config.get('unique_key') -%}
    {%- if strategy.hard_deletes in ['invalidate', 'new_record'] or key is not string -%}
        {{ return(dbt.default__snapshot_staging_table(strategy, source_sql, target_relation)) }}
    {%- endif -%}
    {%- set read_keys_only -%}
        (select * from {{ target_relation }}
         where {{ key }} in (select read_rows.{{ key }} from ({{ source_sql }}) as read_rows)) as current_of_read
    {%- endset -%}
    {{ return(dbt.default__snapshot_staging_table(strategy, source_sql, read_keys_only)) }}
{%- endmacro %}
