{#- Loans and their amount per issue month, kept by adding each batch's new contributions and
    taking back the ones they replace (macros/marts/regrouped.sql). -#}
{{
    config(
        materialized='incremental',
        unique_key=['issue_year', 'issue_month'],
        incremental_strategy='merge',
        on_schema_change='fail',
    )
}}

{{ contribution_totals(
    keys=['issue_year', 'issue_month'],
    measures=[
        {'name': 'loans', 'count': '*'},
        {'name': 'total_loan_amount', 'sum': 'loan_amount'},
    ],
    where='issue_year is not null and issue_month is not null',
) }}
