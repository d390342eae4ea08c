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
