{#- Loans and their amount per issue month (macros/marts/regrouped.sql: an incremental run
    recomputes the months whose loans changed, those a loan left included). -#}
{{
    config(
        materialized='incremental',
        unique_key=['issue_year', 'issue_month'],
        incremental_strategy='merge',
        on_schema_change='fail',
    )
}}

{%- set keys = ['issue_year', 'issue_month'] %}

-- depends_on: {{ ref('int_loan_group_keys') }}

with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

{{ regrouped_loans('fct_loans', keys) }}

totals as (

    select
        issue_year,
        issue_month,
        count(*) as loans,
        sum(loan_amount) as total_loan_amount

    from grouped_loans
    where issue_year is not null and issue_month is not null
    group by issue_year, issue_month

),

final as (

    {{ regrouped_totals('totals', keys) }}

)

select * from final
