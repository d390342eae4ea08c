{#- The dashboard's header: one row of portfolio totals, so a page load reads one row. -#}
with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

final as (

    select
        count(*) as loans,
        sum(loan_amount) as total_loan_amount,
        avg(loan_amount) as avg_loan_amount,
        avg(int_rate) as avg_int_rate,
        sum(case when is_defaulted then 1 else 0 end) as defaulted_loans,
        cast(100 * sum(case when is_defaulted then 1 else 0 end) as {{ dbt.type_float() }})
        / nullif(count(*), 0) as default_rate_pct,
        count(distinct addr_state) as states,
        sum(case when record_source = 'stream' then 1 else 0 end) as stream_loans,
        min(issue_date) as first_issue_date,
        max(issue_date) as last_issue_date,
        current_timestamp as built_at

    from fct_loans

)

select * from final
