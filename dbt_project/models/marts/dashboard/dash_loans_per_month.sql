{#- Portfolio question 3: loans issued per month (count and amount), for the year filter. -#}
with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

final as (

    select
        issue_year,
        issue_month,
        make_date(issue_year, issue_month, 1) as month_start,
        count(*) as loans,
        sum(loan_amount) as total_loan_amount

    from fct_loans
    where issue_year is not null and issue_month is not null
    group by issue_year, issue_month

)

select * from final
