{#- Continuous percentile (linear interpolation) as an aggregate. -#}
{% macro percentile_cont(expr, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'lendflow')(expr, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}

{#- The Yeo-Johnson transform of x with a fitted lambda (python_steps fits it). -#}
{% macro yeo_johnson(x, lmbda) -%}
    case
        when {{ x }} is null or {{ lmbda }} is null then null
        when {{ x }} >= 0 and abs({{ lmbda }}) < 1e-12 then ln({{ x }} + 1)
        when {{ x }} >= 0 then (power({{ x }} + 1, {{ lmbda }}) - 1) / {{ lmbda }}
        when abs({{ lmbda }} - 2) < 1e-12 then -ln(1 - {{ x }})
        else -(power(1 - {{ x }}, 2 - {{ lmbda }}) - 1) / (2 - {{ lmbda }})
    end
{%- endmacro %}
