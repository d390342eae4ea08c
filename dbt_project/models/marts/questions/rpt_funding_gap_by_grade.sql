{#- Question 2: average (loan amount - funded amount) per letter grade, largest first
    (gap_rank 1 = largest; ties by letter), rolled up from the state + grade totals. -#}
{#- a view over tens of rows of an aggregate table: nothing to build, read in milliseconds -#}
{{ config(materialized='view') }}

with

int_loan_totals_by_state_grade as (

    select * from {{ ref('int_loan_totals_by_state_grade') }}

),

gaps as (

    select
        letter_grade,
        {{ total_count('loans') }} as loans,
        {{ mean_of('total_funding_gap', 'funding_gap_count') }} as avg_funding_gap

    from int_loan_totals_by_state_grade
    where loans is not null
    group by letter_grade

),

final as (

    select
        letter_grade,
        loans,
        avg_funding_gap,
        cast(row_number() over (order by avg_funding_gap desc, letter_grade asc) as integer) as gap_rank

    from gaps

)

select * from final
