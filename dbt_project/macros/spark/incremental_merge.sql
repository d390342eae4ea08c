{#- Incremental `merge` on Spark without a table format.

    dbt-spark allows `merge` only on Delta Lake, Iceberg or Hudi tables. None of them has a
    release for Spark 4.3 on Maven Central (delta-spark 4.4.0, built for Spark 4.2, fails
    on MERGE with a NoSuchMethodError), so the warehouse stays on plain Parquet and `merge`
    is carried out as a rewrite: the target's rows whose unique key is not among the new
    rows (a left anti join), plus the new rows, go to a staging table that then overwrites
    the target. Same result as MERGE ... WHEN MATCHED UPDATE * WHEN NOT MATCHED INSERT *;
    it costs in proportion to the table rather than to the new rows (the PostgreSQL target
    keeps the proportional cost), and is correct because Spark never reads and overwrites
    the same table in one statement. These two macros override dbt-spark's own. -#}

{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {% if raw_strategy not in ['append', 'merge', 'insert_overwrite', 'microbatch'] %}
        {% do exceptions.raise_compiler_error('Invalid incremental strategy provided: ' ~ raw_strategy) %}
    {% endif %}
    {% do return(raw_strategy) %}
{% endmacro %}


{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy == 'merge' and config.get('file_format', 'parquet') not in ['delta', 'iceberg', 'hudi'] -%}
        {{ return(lendflow_spark_merge_by_rewrite(source, target, unique_key)) }}
    {%- elif strategy == 'append' -%}
        {{ return(get_insert_into_sql(source, target)) }}
    {%- elif strategy in ['insert_overwrite', 'microbatch'] -%}
        {{ return(get_insert_overwrite_sql(source, target, existing)) }}
    {%- else -%}
        {{ return(get_merge_sql(target, source, unique_key, dest_columns=none, incremental_predicates=incremental_predicates)) }}
    {%- endif -%}
{% endmacro %}


{% macro lendflow_spark_merge_by_rewrite(source, target, unique_key) %}
    {%- if unique_key is none -%}
        {% do exceptions.raise_compiler_error('merge on Spark Parquet needs a unique_key') %}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set stage = target.incorporate(path={'identifier': target.identifier ~ '__lendflow_merge'}) -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='name') | list -%}
    {%- set column_list = columns | map('replace', '`', '``') | list -%}
    {%- set quoted = [] -%}
    {%- for name in column_list %}{% do quoted.append('`' ~ name ~ '`') %}{% endfor -%}
    {% call statement('lendflow_merge_stage_drop') %}drop table if exists {{ stage }}{% endcall %}
    {% call statement('lendflow_merge_stage') %}
        create table {{ stage }} using parquet as
        select {{ quoted | join(', ') }}
        from {{ target }} as existing_rows
        left anti join {{ source }} as new_rows
            on {% for key in keys %}existing_rows.{{ key }} <=> new_rows.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
        union all
        select {{ quoted | join(', ') }}
        from {{ source }}
    {% endcall %}
    {% call statement('lendflow_merge_overwrite') %}
        insert overwrite table {{ target }} select {{ quoted | join(', ') }} from {{ stage }}
    {% endcall %}
    {{ return('drop table if exists ' ~ stage) }}
{% endmacro %}
