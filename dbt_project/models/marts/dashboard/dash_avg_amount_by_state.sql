{#- Portfolio question 4: average loan amount per state, ranked highest first. -#}
with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

per_state as (

    select
        addr_state,
        max(state_name) as state_name,
        count(*) as loans,
        avg(loan_amount) as avg_loan_amount,
        sum(loan_amount) as total_loan_amount

    from fct_loans
    where addr_state is not null
    group by addr_state

),

final as (

    select
        addr_state,
        coalesce(state_name, addr_state) as state_name,
        loans,
        avg_loan_amount,
        total_loan_amount,
        row_number() over (order by avg_loan_amount desc, addr_state asc) as amount_rank

    from per_state

)

select * from final
