{#- Stream messages arrive as text that need not be JSON. json_parse gives a parsed value
    or null (never an error); json_get_text reads one key as text; json_has_key tells a
    missing key from a null value. -#}

{% macro json_parse(expr) -%}
    {{ return(adapter.dispatch('json_parse', 'lendflow')(expr)) }}
{%- endmacro %}

{% macro default__json_parse(expr) -%}
    {#- PostgreSQL 15 has no pg_input_is_valid: a small function traps the cast error
        (created by the on-run-start hook create_sql_helpers). Only JSON objects count. -#}
    {{ target.schema }}_helpers.try_parse_json_object({{ expr }})
{%- endmacro %}

{% macro json_get_text(parsed, key) -%}
    {{ return(adapter.dispatch('json_get_text', 'lendflow')(parsed, key)) }}
{%- endmacro %}

{% macro default__json_get_text(parsed, key) -%}
    ({{ parsed }} ->> '{{ key }}')
{%- endmacro %}

{% macro json_has_key(parsed, key) -%}
    {{ return(adapter.dispatch('json_has_key', 'lendflow')(parsed, key)) }}
{%- endmacro %}

{% macro default__json_has_key(parsed, key) -%}
    jsonb_exists({{ parsed }}, '{{ key }}')
{%- endmacro %}

{#- The on-run-start hook: database helpers the macros above rely on. -#}
{% macro create_sql_helpers() -%}
    {{ return(adapter.dispatch('create_sql_helpers', 'lendflow')()) }}
{%- endmacro %}

{% macro default__create_sql_helpers() -%}
    {#- Not `create schema if not exists`: that needs CREATE on the database even when the
        schema exists, and the transformer role dbt runs as has no such right (the bootstrap,
        lendflow/services/roles.py, makes this schema for it). -#}
    {%- if not adapter.check_schema_exists(target.database, target.schema ~ '_helpers') %}
    create schema {{ target.schema }}_helpers;
    {%- endif %}
    {#- parallel unsafe: the exception block opens a subtransaction, which PostgreSQL refuses
        inside a parallel query ("cannot start subtransactions during a parallel operation"). #}
    create or replace function {{ target.schema }}_helpers.try_parse_json_object(value text)
    returns jsonb language plpgsql immutable parallel unsafe as $fn$
    declare
        parsed jsonb;
    begin
        parsed := value::jsonb;
        if jsonb_typeof(parsed) = 'object' then
            return parsed;
        end if;
        return null;
    exception when others then
        return null;
    end
    $fn$;
{%- endmacro %}
