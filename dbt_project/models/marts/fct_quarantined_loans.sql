{#- Every record that did not make it into fct_loans because it cannot be used, with the
    reason and a reference back to the raw record: lines the landing step rejected, file
    records and stream messages that staging or validation refused. Nothing is dropped
    silently: raw rows = loans kept + records superseded + rows here, per source
    (tests/assert_raw_rows_reconcile.sql). -#}
with

int_loan_records_validated as (

    select * from {{ ref('int_loan_records_validated') }}

),

stg_raw__rejected_rows as (

    select * from {{ ref('stg_raw__rejected_rows') }}

),

refused_records as (

    select
        record_source,
        'validation' as quarantine_stage,
        loan_id,
        quarantine_reason,
        record_ref,
        landed_at

    from int_loan_records_validated
    where quarantine_reason is not null

),

rejected_lines as (

    select
        'batch' as record_source,
        'landing' as quarantine_stage,
        cast(null as bigint) as loan_id,
        {{ dbt.concat(["'landing_rejected: '", 'reason']) }} as quarantine_reason,
        {{ dbt.concat(["'file:'", 'source_file', "'#line='", dbt.safe_cast('line_number', dbt.type_string())]) }}
            as record_ref,
        rejected_at as landed_at

    from stg_raw__rejected_rows

),

final as (

    select * from refused_records
    union all
    select * from rejected_lines

)

select * from final
