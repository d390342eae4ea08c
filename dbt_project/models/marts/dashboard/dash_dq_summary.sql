{#- The data-quality page's headline: one row of what arrived, what was kept, what was set
    aside, and how fresh it is. -#}
with

stg_raw__landed_files as (

    select * from {{ ref('stg_raw__landed_files') }}

),

fct_quarantined_loans as (

    select * from {{ ref('fct_quarantined_loans') }}

),

int_loan_totals_by_state_grade as (

    select * from {{ ref('int_loan_totals_by_state_grade') }}

),

stg_raw__loan_events as (

    select * from {{ ref('stg_raw__loan_events') }}

),

files as (

    select
        count(*) as files_landed,
        coalesce(sum(rows_read), 0) as rows_read,
        coalesce(sum(rows_landed), 0) as rows_landed,
        coalesce(sum(rows_rejected), 0) as rows_rejected,
        max(landed_at) as last_file_landed_at

    from stg_raw__landed_files

),

stream_events as (

    select count(*) as stream_messages

    from stg_raw__loan_events

),

quarantine as (

    select count(*) as records_quarantined

    from fct_quarantined_loans

),

-- fct_loans' counts, rolled up from the state + grade totals
loans as (

    select
        coalesce({{ total_count('loans') }}, 0) as loans,
        {{ total_count('batch_loans') }} as batch_loans,
        {{ total_count('stream_loans') }} as stream_loans,
        max(last_stream_landed_at) as last_stream_landed_at,
        max(last_loan_landed_at) as last_loan_landed_at

    from int_loan_totals_by_state_grade
    where loans is not null

),

final as (

    select
        files.files_landed,
        files.rows_read,
        files.rows_landed,
        files.rows_rejected,
        stream_events.stream_messages,
        quarantine.records_quarantined,
        -- what landed = refused at validation + superseded by a later record of the loan + kept
        files.rows_landed + stream_events.stream_messages
        - (quarantine.records_quarantined - files.rows_rejected) - loans.loans as records_superseded,
        loans.loans,
        loans.batch_loans,
        loans.stream_loans,
        files.last_file_landed_at,
        loans.last_stream_landed_at,
        loans.last_loan_landed_at,
        current_timestamp as built_at

    from files
    cross join stream_events
    cross join quarantine
    cross join loans

)

select * from final
