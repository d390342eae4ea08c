-- Nothing is lost or counted twice between raw and the marts, per source:
--   batch:  lines read (raw.loans + lines rejected at landing)
--   stream: messages in raw.loan_events
-- equal loans kept in fct_loans + records superseded by a better record of the same loan
-- + records in fct_quarantined_loans. Counted from the raw tables directly, not from staging.
{{ config(tags=['periodic']) }}

with

raw_loans as (

    select count(*) as records from {{ source('raw', 'loans') }}

),

raw_rejected_rows as (

    select count(*) as records from {{ source('raw', 'rejected_rows') }}

),

raw_loan_events as (

    select count(*) as records from {{ source('raw', 'loan_events') }}

),

raw_counts as (

    select 'batch' as record_source, raw_loans.records + raw_rejected_rows.records as raw_records
    from raw_loans cross join raw_rejected_rows
    union all
    select 'stream', records from raw_loan_events

),

kept as (

    select record_source, count(*) as records
    from {{ ref('fct_loans') }}
    group by record_source

),

superseded as (

    select record_source, count(*) as records
    from {{ ref('int_loan_records_ranked') }}
    where precedence_rank > 1
    group by record_source

),

quarantined as (

    select record_source, count(*) as records
    from {{ ref('fct_quarantined_loans') }}
    group by record_source

),

final as (

    select
        raw_counts.record_source,
        raw_counts.raw_records,
        coalesce(kept.records, 0) as kept_records,
        coalesce(superseded.records, 0) as superseded_records,
        coalesce(quarantined.records, 0) as quarantined_records

    from raw_counts
    left join kept on raw_counts.record_source = kept.record_source
    left join superseded on raw_counts.record_source = superseded.record_source
    left join quarantined on raw_counts.record_source = quarantined.record_source

)

select *
from final
where raw_records != kept_records + superseded_records + quarantined_records
