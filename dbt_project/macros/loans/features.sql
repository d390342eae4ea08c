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

{#- The lag features: the previous loan's issue date and amount within the letter grade and
    within state + letter grade. One definition for the full build and the incremental one
    (int_loans_lagged); use with lag_feature_windows() in the same select. -#}
{% macro lag_feature_columns() -%}
    lag(issue_date) over grade_order as prev_issue_date_in_grade,
    lag(loan_amount) over grade_order as prev_loan_amount_in_grade,
    lag(issue_date) over state_grade_order as prev_issue_date_in_state_grade,
    lag(loan_amount) over state_grade_order as prev_loan_amount_in_state_grade
{%- endmacro %}

{#- "Previous" follows issue date, then loan_id: many loans share a date. -#}
{% macro lag_feature_windows() -%}
    window
        grade_order as (partition by letter_grade order by issue_date, loan_id),
        state_grade_order as (partition by addr_state, letter_grade order by issue_date, loan_id)
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
