{#- The indexes a check-strategy snapshot's next run reads through (dbt-postgres creates none):
    the current version of each key, which the run compares the rows it reads with, and
    dbt_scd_id, by which it closes the versions it replaces. Without them each build scans the
    whole history twice, however few loans changed. -#}
{% macro snapshot_indexes() -%}
    {%- set key = config.get('unique_key') -%}
    create index if not exists {{ this.identifier }}_current_key
        on {{ this }} ({{ key }}) where dbt_valid_to is null;
    create index if not exists {{ this.identifier }}_dbt_scd_id on {{ this }} (dbt_scd_id)
{%- endmacro %}
