{#- Income band on the original annual income: low < 50,000 <= medium < 200,000 <= high. -#}
{% macro income_band(annual_inc) -%}
    case
        when {{ annual_inc }} < 50000 then 'low'
        when {{ annual_inc }} < 200000 then 'medium'
        when {{ annual_inc }} >= 200000 then 'high'
    end
{%- endmacro %}

{#- Monthly installment M = P r (1 + r)^n / ((1 + r)^n - 1), r = annual rate / 12, n = months;
    a zero rate repays the principal in equal parts. -#}
{% macro monthly_installment(principal, annual_rate, months) -%}
    case
        when {{ principal }} is null or {{ annual_rate }} is null or {{ months }} is null or {{ months }} <= 0 then null
        when {{ annual_rate }} = 0 then {{ principal }} / {{ months }}
        else {{ principal }} * ({{ annual_rate }} / 12.0) * power(1 + {{ annual_rate }} / 12.0, {{ months }})
            / (power(1 + {{ annual_rate }} / 12.0, {{ months }}) - 1)
    end
{%- endmacro %}

{#- A column name for a category: 'Source Verified' -> 'source_verified'. -#}
{% macro slug(value) -%}
    {{ return(value | lower | replace(' ', '_') | replace('-', '_')) }}
{%- endmacro %}

{#- The one-hot encodings: column -> categories (each becomes <column>_<slug> 1/0). -#}
{% macro one_hot_categories() -%}
    {{ return({
        'home_ownership': ['MORTGAGE', 'RENT', 'OWN', 'ANY', 'OTHER'],
        'verification_status': ['Not Verified', 'Source Verified', 'Verified'],
        'loan_type': ['Individual', 'Joint', 'Direct Pay'],
    }) }}
{%- endmacro %}
