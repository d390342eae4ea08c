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

{#- The lag features: the previous loan's issue date and amount within each group below
    (the letter grade; the state + letter grade). "Previous" follows issue date, then loan_id:
    many loans share a date. One definition for the full build and both incremental ways of
    int_loans_lagged: name -> the group's partition columns. -#}
{% macro lag_orderings() -%}
    {{ return({'grade': ['letter_grade'], 'state_grade': ['addr_state', 'letter_grade']}) }}
{%- endmacro %}

{#- The lag feature columns of one group (see lag_orderings), window named `window`. -#}
{% macro lag_columns_of(name, window) -%}
    lag(issue_date) over {{ window }} as prev_issue_date_in_{{ name }},
    lag(loan_amount) over {{ window }} as prev_loan_amount_in_{{ name }}
{%- endmacro %}

{#- Every lag feature's name, in the order lag_feature_columns() gives them. -#}
{% macro lag_column_names() -%}
    {%- set names = [] -%}
    {%- for name in lag_orderings() -%}
        {%- do names.extend(['prev_issue_date_in_' ~ name, 'prev_loan_amount_in_' ~ name]) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- Every lag feature column; use with lag_feature_windows() in the same select. -#}
{% macro lag_feature_columns() -%}
    {%- for name in lag_orderings() %}
    {{ lag_columns_of(name, name ~ '_order') }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro lag_feature_windows() -%}
    window
    {%- for name, partition in lag_orderings().items() %}
        {{ name }}_order as {{ lag_window(partition) }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The window of one group: its partition columns, "previous" by issue date, then loan_id. -#}
{% macro lag_window(partition) -%}
    (partition by {{ partition | join(', ') }} order by issue_date, loan_id)
{%- endmacro %}

{#- Whether int_loans_lagged's incremental run finds each touched loan's neighbours by index
    lookups (PostgreSQL: lateral joins, row comparisons and the model's indexes) or by a
    window over the keys of every loan (Spark, which has neither indexes nor LIMIT inside a
    correlated subquery). Both give the lags a window over the whole table gives. -#}
{% macro lag_by_index_lookups() -%}
    {{ return(adapter.dispatch('lag_by_index_lookups', 'lendflow')()) }}
{%- endmacro %}

{% macro default__lag_by_index_lookups() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro spark__lag_by_index_lookups() -%}
    {{ return(false) }}
{%- endmacro %}
