{#- The start of this dbt run as a timestamp: incremental models stamp the rows they write
    with it, and the next model picks up exactly the rows stamped after its own newest. -#}
{% macro run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- The newest stamp of a column in a relation, or the distant past when it is empty. -#}
{% macro watermark(column, relation) -%}
    coalesce((select max({{ column }}) from {{ relation }}), cast('1900-01-01' as timestamp))
{%- endmacro %}

{#- The same, read when the model runs and written into its SQL as a literal: a constant
    condition the database can push down through views to the table scan (a subquery in a
    condition stops that, and the whole view chain would be computed for every row). -#}
{% macro watermark_literal(column, relation) -%}
    {%- set newest = none -%}
    {%- if execute -%}
        {%- set result = run_query("select cast(max(" ~ column ~ ") as " ~ dbt.type_string() ~ ") from " ~ relation) -%}
        {%- set newest = result.columns[0].values()[0] -%}
    {%- endif -%}
    cast('{{ newest if newest else "1900-01-01 00:00:00" }}' as timestamp)
{%- endmacro %}

{#- The distinct values of a column in a relation, as a SQL list of literals (or one that
    matches nothing), read when the model runs. -#}
{% macro values_literal(column, relation) -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- set result = run_query("select distinct " ~ column ~ " from " ~ relation ~ " where " ~ column ~ " is not null") -%}
        {%- set found = result.columns[0].values() | list -%}
    {%- endif -%}
    ({% for value in found %}'{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}{% else %}null{% endfor %})
{%- endmacro %}
