{#- Additive totals of the loans per state + letter grade, the finest group the state, grade,
    state + grade and portfolio marts roll up from (macros/marts/regrouped.sql: an incremental
    run recomputes the groups whose loans changed, those a loan left included). Sums and
    counts, plus minima and maxima: a group is always recomputed whole, so they stay exact. -#}
{{
    config(
        materialized='incremental',
        unique_key=['addr_state', 'letter_grade'],
        incremental_strategy='merge',
        on_schema_change='fail',
    )
}}

{%- set keys = ['addr_state', 'letter_grade'] %}
{%- set is_verified = "verification_status in ('Verified', 'Source Verified')" %}
{%- set is_not_verified = "verification_status = 'Not Verified'" %}

-- depends_on: {{ ref('int_loan_group_keys') }}

with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

{{ regrouped_loans('fct_loans', keys) }}

gaps as (

    select
        *,
        loan_amount - funded_amount as funding_gap,
        cast({{ days_between('prev_issue_date_in_grade', 'issue_date') }} as {{ dbt.type_float() }})
            as issue_gap_days,
        loan_amount - prev_loan_amount_in_state_grade as amount_change

    from grouped_loans

),

totals as (

    select
        addr_state,
        letter_grade,
        count(*) as loans,
        max(state_name) as state_name,
        sum(case when record_source = 'batch' then 1 else 0 end) as batch_loans,
        sum(case when record_source = 'stream' then 1 else 0 end) as stream_loans,
        sum(case when is_defaulted then 1 else 0 end) as defaulted_loans,
        count(loan_amount) as loan_amount_count,
        sum(loan_amount) as total_loan_amount,
        count(int_rate) as int_rate_count,
        sum(int_rate) as total_int_rate,
        count(funding_gap) as funding_gap_count,
        sum(funding_gap) as total_funding_gap,
        sum(case when {{ is_verified }} then loan_amount else 0 end) as verified_loan_amount,
        sum(case when {{ is_not_verified }} then loan_amount else 0 end) as not_verified_loan_amount,
        sum(case when {{ is_verified }} then 1 else 0 end) as verified_loans,
        sum(case when {{ is_not_verified }} then 1 else 0 end) as not_verified_loans,
        count(prev_issue_date_in_grade) as consecutive_pairs_in_grade,
        count(issue_gap_days) as issue_gap_count,
        sum(issue_gap_days) as total_issue_gap_days,
        count(prev_loan_amount_in_state_grade) as consecutive_pairs_in_state_grade,
        count(amount_change) as amount_change_count,
        sum(amount_change) as total_amount_change,
        min(issue_date) as first_issue_date,
        max(issue_date) as last_issue_date,
        max(landed_at) as last_loan_landed_at,
        max(case when record_source = 'stream' then landed_at end) as last_stream_landed_at

    from gaps
    group by addr_state, letter_grade

),

final as (

    {{ regrouped_totals('totals', keys) }}

)

select * from final
