{#- Question 4: average gap in days between consecutive loans within each letter grade
    (ordered by issue date, then loan_id; current minus previous). The first loan of a grade
    has no previous one and is left out of the average, never counted as 0. -#}
with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

final as (

    select
        letter_grade,
        count(prev_issue_date_in_grade) as consecutive_pairs,
        avg(cast({{ days_between('prev_issue_date_in_grade', 'issue_date') }} as {{ dbt.type_float() }})) as avg_gap_days

    from fct_loans
    group by letter_grade

)

select * from final
