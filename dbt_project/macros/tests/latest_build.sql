{#- Data tests on the big incremental tables check the rows the latest build wrote.

    A full build (`--full-refresh`) writes every row, so its tests check every row. An
    incremental build writes only the rows it changed (new loans, loans re-deduplicated, loans
    whose previous loan changed); the other rows are as the builds before checked them, so
    testing them again costs seconds per test at a million loans and finds nothing new. The
    tests this applies to are row by row (not_null, accepted_values, relationships, the
    reversibility test); uniqueness across all rows is kept by the merge on the unique key
    and, on PostgreSQL, by a unique index.

    `--vars '{test_all_rows: true}'` tests every row of every table, whatever the build. -#}

{#- A condition selecting the rows of `relation` stamped by the latest build that wrote it.
    The stamp is read when the test runs and written in as a literal: with a subquery the
    database cannot tell how many rows match and plans for half the table (a hash join that
    reads a million rows to check sixteen thousand). -#}
{% macro latest_build_condition(stamp_column, relation) -%}
    {%- if var('test_all_rows', false) -%}
        1 = 1
    {%- else -%}
        {{ stamp_column }} = {{ watermark_literal(stamp_column, relation) }}
    {%- endif -%}
{%- endmacro %}

{#- dbt's own macro, extended (https://docs.getdbt.com/reference/resource-configs/where):
    a test's `where` may name `__latest_build__(<stamp column>)`, which becomes
    latest_build_condition() on the tested relation. Any other `where` works as in dbt. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if not where -%}
        {{ return(relation) }}
    {%- endif -%}
    {#- a namespace: a plain `set` inside the loop would not outlive it #}
    {%- set filtered = namespace(where=where) -%}
    {%- for stamp_column in modules.re.findall('__latest_build__\\((\\w+)\\)', where) -%}
        {%- set filtered.where = filtered.where | replace('__latest_build__(' ~ stamp_column ~ ')',
                                                          latest_build_condition(stamp_column, relation)) -%}
    {%- endfor -%}
    {{ return('(select * from ' ~ relation ~ ' where ' ~ filtered.where ~ ') dbt_subquery') }}
{%- endmacro %}
