{#- The lag features: the previous loan's issue date and amount within each group below
    (the letter grade; the state + letter grade). "Previous" follows issue date, then loan_id:
    many loans share a date. One definition for the full build and both incremental ways of
    int_loans_lagged: name -> the group's partition columns. -#}
{% macro lag_orderings() -%}
    {{ return({'grade': ['letter_grade'], 'state_grade': ['addr_state', 'letter_grade']}) }}
{%- endmacro %}

{#- The columns a loan's place among the others and its lagged values come from:
    int_loans_lagged stores them beside the lags, so an incremental run finds a loan's old
    place and its neighbours in that narrow table alone. -#}
{% macro lag_key_columns() -%}
    {{ return(['loan_id', 'letter_grade', 'addr_state', 'issue_date', 'loan_amount']) }}
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

{#- `alias.column, ...` for a list of columns. -#}
{% macro qualified_columns(alias, columns) -%}
    {%- for column in columns %}{{ alias }}.{{ column }}{{ ', ' if not loop.last }}{% endfor -%}
{%- endmacro %}
