{#- Portfolio question 5: the share of loans in each letter grade. -#}
with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

per_grade as (

    select
        letter_grade,
        count(*) as loans,
        sum(loan_amount) as total_loan_amount

    from fct_loans
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
