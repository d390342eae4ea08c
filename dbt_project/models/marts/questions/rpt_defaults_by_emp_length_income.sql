{#- Question 1: average loan amount and interest rate of defaulted loans, by employment
    length and annual income band (defaulted: 'Charged Off' or 'Default'; employment length
    and rate after imputation; band on the original income). -#}
with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

final as (

    select
        emp_length,
        income_band,
        count(*) as defaulted_loans,
        avg(loan_amount) as avg_loan_amount,
        avg(int_rate) as avg_int_rate

    from fct_loans
    where is_defaulted
    group by emp_length, income_band

)

select * from final
