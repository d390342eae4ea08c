{#- Casts that give null instead of failing, so that a non-numeric value can be quarantined
    with a reason rather than abort the build. PostgreSQL has no try_cast: a regular
    expression decides first. Spark: try_cast (spark__ variants). -#}

{% macro try_cast_double(expr) -%}
    {{ return(adapter.dispatch('try_cast_double', 'lendflow')(expr)) }}
{%- endmacro %}

{% macro default__try_cast_double(expr) -%}
    case
        when {{ expr }} ~ '^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$'
            then cast({{ expr }} as double precision)
    end
{%- endmacro %}

{#- Whole numbers; "14" and "14.0" (a float rendering) are both accepted. -#}
{% macro try_cast_bigint(expr) -%}
    {{ return(adapter.dispatch('try_cast_bigint', 'lendflow')(expr)) }}
{%- endmacro %}

{% macro default__try_cast_bigint(expr) -%}
    case
        -- a bounded repetition ({1,18}) costs the regex engine dearly: check the length apart
        when {{ expr }} ~ '^\s*[-+]?[0-9]+(\.0*)?\s*$' and length({{ expr }}) <= 30
            and length(split_part(trim({{ expr }}), '.', 1)) <= 19
            then cast(cast({{ expr }} as numeric) as bigint)
    end
{%- endmacro %}

{% macro try_cast_boolean(expr) -%}
    {{ return(adapter.dispatch('try_cast_boolean', 'lendflow')(expr)) }}
{%- endmacro %}

{% macro default__try_cast_boolean(expr) -%}
    case
        when lower({{ expr }}) in ('true', 't', '1', 'yes') then true
        when lower({{ expr }}) in ('false', 'f', '0', 'no') then false
    end
{%- endmacro %}

{#- A text that is not missing: trimmed, and empty means missing. -#}
{% macro clean_text(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}
