{#- Question 5: average difference in loan amount between consecutive loans within each
    state (Addr State) + letter grade (ordered by issue date, then loan_id; current minus
    previous). A group's first loan is left out; a group of one loan has a null average. -#}
{#- a view over tens of rows of an aggregate table: nothing to build, read in milliseconds -#}
{{ config(materialized='view') }}

with

int_loan_totals_by_state_grade as (

    select * from {{ ref('int_loan_totals_by_state_grade') }}

),

final as (

    select
        addr_state,
        letter_grade,
        loans,
        consecutive_pairs_in_state_grade as consecutive_pairs,
        total_amount_change / nullif(amount_change_count, 0) as avg_amount_change

    from int_loan_totals_by_state_grade
    where loans is not null

)

select * from final
