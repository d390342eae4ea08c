{#- Defaulted loans, their amounts and rates, per employment length + income band
    (macros/marts/regrouped.sql: an incremental run recomputes the groups whose loans changed,
    those a loan left included; a loan that stops or starts being defaulted changes its group). -#}
{{
    config(
        materialized='incremental',
        unique_key=['emp_length', 'income_band'],
        incremental_strategy='merge',
        on_schema_change='fail',
    )
}}

{%- set keys = ['emp_length', 'income_band'] %}

-- depends_on: {{ ref('int_loan_group_keys') }}

with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

{{ regrouped_loans('fct_loans', keys) }}

totals as (

    select
        emp_length,
        income_band,
        count(*) as loans,
        count(loan_amount) as loan_amount_count,
        sum(loan_amount) as total_loan_amount,
        count(int_rate) as int_rate_count,
        sum(int_rate) as total_int_rate

    from grouped_loans
    where is_defaulted
    group by emp_length, income_band

),

final as (

    {{ regrouped_totals('totals', keys) }}

)

select * from final
