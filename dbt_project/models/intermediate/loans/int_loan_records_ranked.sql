{#- The usable records of every loan, ranked by the declared precedence: a stream event
    beats a file (it is newer news about the loan), then the latest event or landed file,
    then the highest position (Kafka offset or row number). Rank 1 is the record kept;
    the others are superseded (counted by the reconciliation test). Incremental: only the
    loans that received a record since the last run are ranked again.
    Narrow: a record's key and rank, not its columns. int_loans_deduplicated joins the
    winners back to their records; a wide copy of every record here cost a third of this
    model's time at a million loans, for columns only the winners need. -#}
{{
    config(
        materialized='incremental',
        unique_key='record_ref',
        incremental_strategy='merge',
        on_schema_change='fail',
        indexes=[{'columns': ['record_ref'], 'unique': True}, {'columns': ['dbt_ranked_at']}],
    )
}}
with

-- read twice by an incremental run, each time through an index (stored once, it would be
-- every record, read whole)
int_loan_records_validated as {{ inlined_cte() }} (

    select * from {{ ref('int_loan_records_validated') }}

),

usable as (

    select * from int_loan_records_validated
    where
        quarantine_reason is null
    {% if is_incremental() %}
        and loan_id in (
            select recent.loan_id from int_loan_records_validated as recent
            where recent.dbt_loaded_at > {{ watermark_literal('dbt_loaded_at', this) }}
        )
    {% endif %}

),

final as (

    select
        record_ref,
        loan_id,
        record_source,
        -- the newest record's load time: the next incremental run starts after it
        dbt_loaded_at,
        row_number() over (
            partition by loan_id
            order by
                case when record_source = 'stream' then 1 else 0 end desc,
                precedence_time desc,
                precedence_position desc,
                record_ref desc
        ) as precedence_rank,
        {{ run_timestamp() }} as dbt_ranked_at

    from usable

)

select * from final
