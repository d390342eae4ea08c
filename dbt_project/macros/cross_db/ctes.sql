{#- Compute a CTE once when it is referenced by expressions that would otherwise be
    evaluated again (PostgreSQL inlines a CTE used once, repeating its expressions wherever
    a later step refers to them: the safe casts of staging are worth computing once).
    Usage: `typed as {{ materialized_cte() }} (select ...)`. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'lendflow')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}
    materialized
{%- endmacro %}

{% macro spark__materialized_cte() -%}
{%- endmacro %}

{#- The opposite: a CTE referenced twice that PostgreSQL must not compute once and store
    (it would, by default), because each reference needs other columns of it: the wide rows
    stored would cost more than computing the narrow reference again.
    Usage: `int_loans_encoded as {{ inlined_cte() }} (select ...)`. -#}
{% macro inlined_cte() -%}
    {{ return(adapter.dispatch('inlined_cte', 'lendflow')()) }}
{%- endmacro %}

{% macro default__inlined_cte() -%}
    not materialized
{%- endmacro %}

{% macro spark__inlined_cte() -%}
{%- endmacro %}

{#- Ends a CTE whose columns later steps read several times, each an expression worth
    computing once per row. PostgreSQL flattens a subquery into the query that reads it,
    copying each expression to every place that refers to it; OFFSET 0 keeps the subquery
    whole. Unlike `materialized`, the scan below it still runs in parallel workers, and a
    filter written inside the CTE still reaches the table.
    Usage: `typed as (select ... from source where ... {{ evaluated_once() }})`. -#}
{% macro evaluated_once() -%}
    {{ return(adapter.dispatch('evaluated_once', 'lendflow')()) }}
{%- endmacro %}

{% macro default__evaluated_once() -%}
    offset 0
{%- endmacro %}

{% macro spark__evaluated_once() -%}
{%- endmacro %}
