{#- Casts that never fail, and give the same answer on PostgreSQL and Spark for any text, so
    that a bad value is quarantined with a reason instead of stopping the build.

    A number is the whole (space-trimmed) text in the grammar below: no inner whitespace, no
    'NaN' or 'Infinity', no thousands separators. Its value is the double nearest to it, as
    both engines' parsers round (IEEE, round half to even); a number too large for a double is
    +-Infinity and one too small is 0, which every declared range then refuses. Texts longer
    than max_text_length are never read (they are quarantined as too long). -#}

{#- The grammar without its final anchor, which differs by engine (see spark__try_cast_double). -#}
{% macro number_grammar() -%}
    {{ return(var('number_grammar')[:-1]) }}
{%- endmacro %}

{% macro try_cast_double(expr) -%}
    {{ return(adapter.dispatch('try_cast_double', 'lendflow')(expr)) }}
{%- endmacro %}

{#- PostgreSQL raises on a double out of range, so the value is bounded first. Nearly every
    number has at most 200 characters and a two-digit exponent: its magnitude lies within
    1e-299 .. 1e299 and it is cast straight away. The rest go through numeric (exact for an
    exponent of up to four digits and max_text_length characters), then to the double, with the
    overflow and underflow decided beforehand; a longer exponent is Infinity or 0 outright. -#}
{% macro default__try_cast_double(expr) -%}
    {%- set exponent_digits = "ltrim(substring(" ~ expr ~ " from '[eE][-+]?([0-9]+)$'), '0')" -%}
    {%- set exact = "cast(" ~ expr ~ " as numeric)" -%}
    case
        when {{ expr }} is null or not {{ expr }} ~ '{{ number_grammar() }}$' then null
        when length({{ expr }}) > {{ var('max_text_length') }} then null
        when length({{ expr }}) <= 200 and {{ expr }} !~ '[eE][-+]?[0-9]{3}'
            then cast({{ expr }} as double precision)
        when coalesce(length({{ exponent_digits }}), 0) <= 4 then
            case
                when abs({{ exact }}) >= 1.7e308
                    then sign({{ exact }}) * cast('Infinity' as double precision)
                -- below half the smallest subnormal double: rounds to zero
                when abs({{ exact }}) < 2.5e-324 then cast(0 as double precision)
                else cast({{ exact }} as double precision)
            end
        when split_part(lower({{ expr }}), 'e', 1) !~ '[1-9]' or {{ expr }} ~ '[eE]-'
            then cast(0 as double precision)
        when {{ expr }} ~ '^-' then cast('-Infinity' as double precision)
        else cast('Infinity' as double precision)
    end
{%- endmacro %}

{#- Whole numbers of at most 18 digits (any such fits a bigint); "14" and "14.0" (a float
    rendering) are both accepted. -#}
{% macro try_cast_bigint(expr) -%}
    {{ return(adapter.dispatch('try_cast_bigint', 'lendflow')(expr)) }}
{%- endmacro %}

{% macro default__try_cast_bigint(expr) -%}
    case
        -- a bounded repetition ({1,18}) costs the regex engine dearly: check the length apart
        when {{ expr }} ~ '^[-+]?[0-9]+([.]0*)?$' and length({{ expr }}) <= 40
            and length(ltrim(split_part({{ expr }}, '.', 1), '+-')) <= 18
            then cast(split_part({{ expr }}, '.', 1) as bigint)
    end
{%- endmacro %}

{% macro try_cast_boolean(expr) -%}
    {{ return(adapter.dispatch('try_cast_boolean', 'lendflow')(expr)) }}
{%- endmacro %}

{#- Anything else reads as missing: Pymnt Plan answers no question, so an unknown spelling is
    not worth a quarantine (the raw row keeps it). -#}
{% macro default__try_cast_boolean(expr) -%}
    case
        when {{ ascii_lower(expr) }} in ('true', 't', '1', 'yes') then true
        when {{ ascii_lower(expr) }} in ('false', 'f', '0', 'no') then false
    end
{%- endmacro %}

{#- A text that is not missing: trimmed of spaces, and empty means missing. -#}
{% macro clean_text(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}

{#- Case folding of the letters A-Z only. upper() and lower() follow the engine's locale:
    Spark (Java) maps 'ı' to 'I' and 'ſ' to 'S', PostgreSQL in the C locale does not, so
    'verıfıed' would be a spelling of Verified on one engine and unknown on the other. -#}
{% macro ascii_upper(expr) -%}
    translate({{ expr }}, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')
{%- endmacro %}

{% macro ascii_lower(expr) -%}
    translate({{ expr }}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
{%- endmacro %}
