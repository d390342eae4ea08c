{#- Portfolio question 5: the share of loans in each letter grade (rolled up from the state +
    grade totals). -#}
{#- a view over tens of rows of an aggregate table: nothing to build, read in milliseconds -#}
{{ config(materialized='view') }}

with

int_loan_totals_by_state_grade as (

    select * from {{ ref('int_loan_totals_by_state_grade') }}

),

per_grade as (

    select
        letter_grade,
        {{ total_count('loans') }} as loans,
        sum(total_loan_amount) as total_loan_amount

    from int_loan_totals_by_state_grade
    where loans is not null
    group by letter_grade

),

final as (

    select
        letter_grade,
        loans,
        cast(100 * loans as {{ dbt.type_float() }}) / sum(loans) over () as pct_of_loans,
        total_loan_amount

    from per_grade

)

select * from final
