{#- Question 3: total loan amount of verified vs not verified loans, per state (Addr State).
    Verified means 'Verified' or 'Source Verified' (income checked, by the lender or at its
    source); not verified means 'Not Verified'. -#}
with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

final as (

    select
        addr_state,
        state_name,
        sum(case when verification_status in ('Verified', 'Source Verified') then loan_amount else 0 end)
            as verified_loan_amount,
        sum(case when verification_status = 'Not Verified' then loan_amount else 0 end) as not_verified_loan_amount,
        sum(case when verification_status in ('Verified', 'Source Verified') then 1 else 0 end) as verified_loans,
        sum(case when verification_status = 'Not Verified' then 1 else 0 end) as not_verified_loans

    from fct_loans
    group by addr_state, state_name

)

select * from final
