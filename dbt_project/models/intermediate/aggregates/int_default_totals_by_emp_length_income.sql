{#- Defaulted loans, their amounts and rates, per employment length + income band, kept by
    adding each batch's new contributions and taking back the ones they replace
    (macros/marts/regrouped.sql): a loan that stops or starts being defaulted leaves or joins
    its group. -#}
{{
    config(
        materialized='incremental',
        unique_key=['emp_length', 'income_band'],
        incremental_strategy='merge',
        on_schema_change='fail',
    )
}}

{{ contribution_totals(
    keys=['emp_length', 'income_band'],
    measures=[
        {'name': 'loans', 'count': '*'},
        {'name': 'loan_amount_count', 'count': 'loan_amount'},
        {'name': 'total_loan_amount', 'sum': 'loan_amount', 'of': 'loan_amount_count'},
        {'name': 'int_rate_count', 'count': 'int_rate'},
        {'name': 'total_int_rate', 'sum': 'int_rate', 'of': 'int_rate_count'},
    ],
    where='is_defaulted',
) }}
