{#- A table's row count from PostgreSQL's statistics (reltuples, which ANALYZE sets, and every
    build analyses its tables: analyze_relation), counted when the table was never analysed.
    For thresholds, never for answers. Only int_loans_lagged's incremental run asks, and only
    on PostgreSQL (default__incremental_lag_rows()), so there is no Spark variant. -#}
{% macro estimated_row_count(relation) -%}
    {{ return(adapter.dispatch('estimated_row_count', 'lendflow')(relation)) }}
{%- endmacro %}

{% macro default__estimated_row_count(relation) -%}
    {%- set estimate = run_query("select cast(reltuples as bigint) from pg_class where oid = cast('"
                                 ~ relation.include(database=false) ~ "' as regclass)").columns[0].values()[0] -%}
    {#- -1: never analysed -#}
    {%- if estimate is none or estimate < 0 -%}
        {%- set estimate = run_query("select count(*) from " ~ relation).columns[0].values()[0] -%}
    {%- endif -%}
    {{ return(estimate) }}
{%- endmacro %}
