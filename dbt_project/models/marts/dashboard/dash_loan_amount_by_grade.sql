{#- Portfolio question 1: box-plot statistics of the loan amount per letter grade (computed per
    grade in int_loan_amount_quartiles_by_grade; a grade without loans has no row). -#}
{#- a view over tens of rows of an aggregate table: nothing to build, read in milliseconds -#}
{{ config(materialized='view') }}

with

int_loan_amount_quartiles_by_grade as (

    select * from {{ ref('int_loan_amount_quartiles_by_grade') }}

),

final as (

    select
        letter_grade,
        loans,
        mean_loan_amount,
        min_loan_amount,
        q1_loan_amount,
        median_loan_amount,
        q3_loan_amount,
        max_loan_amount,
        lower_fence,
        upper_fence

    from int_loan_amount_quartiles_by_grade
    where loans is not null

)

select * from final
