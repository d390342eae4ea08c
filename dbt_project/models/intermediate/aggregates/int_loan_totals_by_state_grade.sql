{#- Additive totals of the loans per state + letter grade, the finest group the state, grade,
    state + grade and portfolio marts roll up from: sums and counts, kept by adding each batch's
    new contributions and taking back the ones they replace, and minima and maxima
    (macros/marts/regrouped.sql). -#}
{{
    config(
        materialized='incremental',
        unique_key=['addr_state', 'letter_grade'],
        incremental_strategy='merge',
        on_schema_change='fail',
    )
}}

{%- set is_verified = "verification_status in ('Verified', 'Source Verified')" %}
{%- set is_not_verified = "verification_status = 'Not Verified'" %}

{{ contribution_totals(
    keys=['addr_state', 'letter_grade'],
    derived={
        'funding_gap': 'loan_amount - funded_amount',
        'issue_gap_days': 'cast(' ~ days_between('prev_issue_date_in_grade', 'issue_date') ~ ' as ' ~ dbt.type_float() ~ ')',
        'amount_change': 'loan_amount - prev_loan_amount_in_state_grade',
    },
    measures=[
        {'name': 'loans', 'count': '*'},
        {'name': 'state_name', 'any': 'state_name'},
        {'name': 'batch_loans', 'sum': "case when record_source = 'batch' then 1 else 0 end"},
        {'name': 'stream_loans', 'sum': "case when record_source = 'stream' then 1 else 0 end"},
        {'name': 'defaulted_loans', 'sum': 'case when is_defaulted then 1 else 0 end'},
        {'name': 'loan_amount_count', 'count': 'loan_amount'},
        {'name': 'total_loan_amount', 'sum': 'loan_amount', 'of': 'loan_amount_count'},
        {'name': 'int_rate_count', 'count': 'int_rate'},
        {'name': 'total_int_rate', 'sum': 'int_rate', 'of': 'int_rate_count'},
        {'name': 'funding_gap_count', 'count': 'funding_gap'},
        {'name': 'total_funding_gap', 'sum': 'funding_gap', 'of': 'funding_gap_count'},
        {'name': 'verified_loan_amount', 'sum': 'case when ' ~ is_verified ~ ' then loan_amount else 0 end'},
        {'name': 'not_verified_loan_amount', 'sum': 'case when ' ~ is_not_verified ~ ' then loan_amount else 0 end'},
        {'name': 'verified_loans', 'sum': 'case when ' ~ is_verified ~ ' then 1 else 0 end'},
        {'name': 'not_verified_loans', 'sum': 'case when ' ~ is_not_verified ~ ' then 1 else 0 end'},
        {'name': 'consecutive_pairs_in_grade', 'count': 'prev_issue_date_in_grade'},
        {'name': 'issue_gap_count', 'count': 'issue_gap_days'},
        {'name': 'total_issue_gap_days', 'sum': 'issue_gap_days', 'of': 'issue_gap_count'},
        {'name': 'consecutive_pairs_in_state_grade', 'count': 'prev_loan_amount_in_state_grade'},
        {'name': 'amount_change_count', 'count': 'amount_change'},
        {'name': 'total_amount_change', 'sum': 'amount_change', 'of': 'amount_change_count'},
        {'name': 'first_issue_date', 'min': 'issue_date'},
        {'name': 'last_issue_date', 'max': 'issue_date'},
        {'name': 'last_loan_landed_at', 'max': 'landed_at'},
        {'name': 'last_stream_landed_at', 'max': "case when record_source = 'stream' then landed_at end"},
    ],
) }}
