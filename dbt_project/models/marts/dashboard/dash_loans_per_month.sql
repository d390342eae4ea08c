{#- Portfolio question 3: loans issued per month (count and amount), for the year filter. -#}
{#- a view over tens of rows of an aggregate table: nothing to build, read in milliseconds -#}
{{ config(materialized='view') }}

with

int_loan_totals_by_month as (

    select * from {{ ref('int_loan_totals_by_month') }}

),

final as (

    select
        issue_year,
        issue_month,
        make_date(issue_year, issue_month, 1) as month_start,
        loans,
        total_loan_amount

    from int_loan_totals_by_month
    where loans is not null

)

select * from final
