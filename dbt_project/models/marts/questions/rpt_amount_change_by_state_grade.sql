{#- Question 5: average difference in loan amount between consecutive loans within each
    state (Addr State) + letter grade (ordered by issue date, then loan_id; current minus
    previous). A group's first loan is left out; a group of one loan has a null average. -#}
with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

final as (

    select
        addr_state,
        letter_grade,
        count(*) as loans,
        count(prev_loan_amount_in_state_grade) as consecutive_pairs,
        avg(loan_amount - prev_loan_amount_in_state_grade) as avg_amount_change

    from fct_loans
    group by addr_state, letter_grade

)

select * from final
