{#- Box-plot statistics of the loan amount per letter grade (marts.dash_loan_amount_by_grade).
    Quartiles are not additive: an incremental run recomputes each grade whose loans changed
    (those a loan left included; macros/marts/regrouped.sql) from all of that grade's loans.

    Plotly draws a box from precomputed quartiles and fences, so the dashboard sends seven
    numbers per grade instead of every loan. Fences follow Tukey, as Plotly's own box plot
    does: the most extreme values within 1.5 IQR of the quartiles. -#}
{{
    config(
        materialized='incremental',
        unique_key=['letter_grade'],
        incremental_strategy='merge',
        on_schema_change='fail',
        tags=['periodic'],
    )
}}

{%- set keys = ['letter_grade'] %}

-- depends_on: {{ ref('int_loan_contributions') }}

with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

{{ regrouped_loans('fct_loans', keys) }}

amounts as (

    select
        letter_grade,
        loan_amount

    from grouped_loans
    where loan_amount is not null

),

quartiles as (

    select
        letter_grade,
        count(*) as loans,
        avg(loan_amount) as mean_loan_amount,
        min(loan_amount) as min_loan_amount,
        max(loan_amount) as max_loan_amount,
        percentile_cont(0.25) within group (order by loan_amount) as q1_loan_amount,
        percentile_cont(0.50) within group (order by loan_amount) as median_loan_amount,
        percentile_cont(0.75) within group (order by loan_amount) as q3_loan_amount

    from amounts
    group by letter_grade

),

fences as (

    select
        amounts.letter_grade,
        min(
            case
                when
                    amounts.loan_amount >= quartiles.q1_loan_amount
                    - 1.5 * (quartiles.q3_loan_amount - quartiles.q1_loan_amount)
                    then amounts.loan_amount
            end
        ) as lower_fence,
        max(
            case
                when
                    amounts.loan_amount <= quartiles.q3_loan_amount
                    + 1.5 * (quartiles.q3_loan_amount - quartiles.q1_loan_amount)
                    then amounts.loan_amount
            end
        ) as upper_fence

    from amounts
    inner join quartiles
        on amounts.letter_grade = quartiles.letter_grade
    group by amounts.letter_grade

),

totals as (

    select
        quartiles.letter_grade,
        quartiles.loans,
        quartiles.mean_loan_amount,
        quartiles.min_loan_amount,
        quartiles.q1_loan_amount,
        quartiles.median_loan_amount,
        quartiles.q3_loan_amount,
        quartiles.max_loan_amount,
        fences.lower_fence,
        fences.upper_fence

    from quartiles
    inner join fences
        on quartiles.letter_grade = fences.letter_grade

),

final as (

    {{ regrouped_totals('totals', keys) }}

)

select * from final
