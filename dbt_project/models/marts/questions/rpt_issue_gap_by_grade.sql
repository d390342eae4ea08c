{#- Question 4: average gap in days between consecutive loans within each letter grade
    (ordered by issue date, then loan_id; current minus previous), rolled up from the state +
    grade totals. The first loan of a grade has no previous one and is left out of the
    average, never counted as 0. -#}
{#- a view over tens of rows of an aggregate table: nothing to build, read in milliseconds -#}
{{ config(materialized='view') }}

with

int_loan_totals_by_state_grade as (

    select * from {{ ref('int_loan_totals_by_state_grade') }}

),

final as (

    select
        letter_grade,
        {{ total_count('consecutive_pairs_in_grade') }} as consecutive_pairs,
        {{ mean_of('total_issue_gap_days', 'issue_gap_count') }} as avg_gap_days

    from int_loan_totals_by_state_grade
    where loans is not null
    group by letter_grade

)

select * from final
