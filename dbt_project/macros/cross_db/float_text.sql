{#- A double as text, the same text on every engine: the shortest digits that read back as
    the same double, in plain notation (no exponent, no trailing zeros): -14000, 10000000,
    0.000015, 0.22377072266831383. A bare cast differs by engine (PostgreSQL '-14000',
    '1e+07'; Spark '-14000.0', '1.0E7'). NaN and the infinities stay 'NaN', 'Infinity'.
    The same text on both engines for every double below 2**53 (9.0e15) in magnitude, which
    tests/integration/test_spark.py checks; above it, where neighbouring doubles are 2 or more
    apart, the two engines can pick different last digits (both read back as the double). -#}
{% macro float_to_text(expr) -%}
    {{ return(adapter.dispatch('float_to_text', 'lendflow')(expr)) }}
{%- endmacro %}

{#- PostgreSQL writes a double's shortest digits ('1.5e-05'); numeric reads them exactly
    and writes them out in plain notation ('0.000015'). -#}
{% macro default__float_to_text(expr) -%}
    cast(cast(cast({{ expr }} as {{ dbt.type_string() }}) as numeric) as {{ dbt.type_string() }})
{%- endmacro %}
