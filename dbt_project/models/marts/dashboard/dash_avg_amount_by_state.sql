{#- Portfolio question 4: average loan amount per state, ranked highest first (rolled up from
    the state + grade totals). -#}
{#- a view over tens of rows of an aggregate table: nothing to build, read in milliseconds -#}
{{ config(materialized='view') }}

with

int_loan_totals_by_state_grade as (

    select * from {{ ref('int_loan_totals_by_state_grade') }}

),

per_state as (

    select
        addr_state,
        max(state_name) as state_name,
        {{ total_count('loans') }} as loans,
        {{ mean_of('total_loan_amount', 'loan_amount_count') }} as avg_loan_amount,
        sum(total_loan_amount) as total_loan_amount

    from int_loan_totals_by_state_grade
    where addr_state is not null and loans is not null
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
