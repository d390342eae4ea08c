{#- Question 3: total loan amount of verified vs not verified loans, per state (Addr State),
    rolled up from the state + grade totals. Verified means 'Verified' or 'Source Verified'
    (income checked, by the lender or at its source); not verified means 'Not Verified'. -#}
{#- a view over tens of rows of an aggregate table: nothing to build, read in milliseconds -#}
{{ config(materialized='view') }}

with

int_loan_totals_by_state_grade as (

    select * from {{ ref('int_loan_totals_by_state_grade') }}

),

final as (

    select
        addr_state,
        max(state_name) as state_name,
        sum(verified_loan_amount) as verified_loan_amount,
        sum(not_verified_loan_amount) as not_verified_loan_amount,
        {{ total_count('verified_loans') }} as verified_loans,
        {{ total_count('not_verified_loans') }} as not_verified_loans

    from int_loan_totals_by_state_grade
    where loans is not null
    group by addr_state

)

select * from final
