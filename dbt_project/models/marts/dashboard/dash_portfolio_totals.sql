{#- The dashboard's header: one row of portfolio totals, so a page load reads one row (rolled
    up from the state + grade totals). -#}
with

int_loan_totals_by_state_grade as (

    select * from {{ ref('int_loan_totals_by_state_grade') }}

),

groups as (

    select * from int_loan_totals_by_state_grade
    where loans is not null

),

final as (

    select
        coalesce({{ total_count('loans') }}, 0) as loans,
        sum(total_loan_amount) as total_loan_amount,
        {{ mean_of('total_loan_amount', 'loan_amount_count') }} as avg_loan_amount,
        {{ mean_of('total_int_rate', 'int_rate_count') }} as avg_int_rate,
        {{ total_count('defaulted_loans') }} as defaulted_loans,
        cast(100 * sum(defaulted_loans) as {{ dbt.type_float() }})
        / nullif({{ total_count('loans') }}, 0) as default_rate_pct,
        count(distinct addr_state) as states,
        {{ total_count('stream_loans') }} as stream_loans,
        min(first_issue_date) as first_issue_date,
        max(last_issue_date) as last_issue_date,
        current_timestamp as built_at

    from groups

)

select * from final
