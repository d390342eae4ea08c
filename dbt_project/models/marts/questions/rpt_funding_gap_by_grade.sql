{#- Question 2: average (loan amount - funded amount) per letter grade, largest first
    (gap_rank 1 = largest; ties by letter). -#}
with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

gaps as (

    select
        letter_grade,
        count(*) as loans,
        avg(loan_amount - funded_amount) as avg_funding_gap

    from fct_loans
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
