{#- Question 1: average loan amount and interest rate of defaulted loans, by employment
    length and annual income band (defaulted: 'Charged Off' or 'Default'; employment length
    and rate after imputation; band on the original income). -#}
{#- a view over tens of rows of an aggregate table: nothing to build, read in milliseconds -#}
{{ config(materialized='view') }}

with

int_default_totals_by_emp_length_income as (

    select * from {{ ref('int_default_totals_by_emp_length_income') }}

),

final as (

    select
        emp_length,
        income_band,
        loans as defaulted_loans,
        total_loan_amount / nullif(loan_amount_count, 0) as avg_loan_amount,
        total_int_rate / nullif(int_rate_count, 0) as avg_int_rate

    from int_default_totals_by_emp_length_income
    where loans is not null

)

select * from final
