{#- Every record from both sources (files and stream) in one shape, with the reason it is
    quarantined (or null) and the keys that decide which record of a loan wins.
    Incremental: a run adds only the records landed since the last one (per source). -#}
{{
    config(
        materialized='incremental',
        unique_key='record_ref',
        incremental_strategy='merge',
        on_schema_change='fail',
        indexes=[
            {'columns': ['record_ref'], 'unique': True},
            {'columns': ['loan_id']},
            {'columns': ['dbt_loaded_at']},
            {'columns': ['file_sha256']},
            {'columns': ['record_source', 'landed_at']},
        ],
    )
}}

-- depends_on: {{ ref('stg_raw__landed_files') }} (read by unread_files() in incremental runs)

with

-- typed once: loan_problem() reads each typed column again, and through the view every
-- read would redo its safe cast (half the model's time at a million rows)
stg_raw__loans as (

    select * from {{ ref('stg_raw__loans') }}
    {% if is_incremental() %}
    {%- set unread = unread_files(this, 'file_sha256') %}
    -- a file lands whole, once: the files not read yet (none: the scan is skipped)
    where {% if unread %}file_sha256 in ('{{ unread | join("', '") }}'){% else %}1 = 0{% endif %}
    {% endif %}
    {{ evaluated_once() }}

),

stg_raw__loan_events as (

    select * from {{ ref('stg_raw__loan_events') }}

),

state_names as (

    select * from {{ ref('state_names') }}

),

purposes as (

    select * from {{ ref('purposes') }}

),

emp_lengths as (

    select * from {{ ref('emp_lengths') }}

),

{%- set loan_columns = [
    'loan_id', 'customer_id', 'emp_title', 'emp_title_raw', 'emp_length', 'home_ownership',
    'annual_inc', 'annual_inc_joint', 'verification_status', 'zip_code', 'addr_state',
    'avg_cur_bal', 'tot_cur_bal', 'loan_status', 'loan_amount', 'state', 'funded_amount',
    'term_months', 'int_rate', 'grade', 'issue_date', 'pymnt_plan', 'loan_type', 'purpose',
    'description', 'landed_at',
] %}

batch_records as (

    select
        record_source,
        {%- for column in loan_columns %}
        {{ column }},
        {%- endfor %}
        {{ loan_problem() }} as loan_problem,
        {{ dbt.concat(["'file:'", 'source_file', "'#row='", dbt.safe_cast('source_row_number', dbt.type_string())]) }}
            as record_ref,
        -- precedence inside a source: the latest landed file, then the highest row number
        landed_at as precedence_time,
        source_row_number as precedence_position,
        file_sha256

    from stg_raw__loans

),

stream_records as (

    select
        record_source,
        {%- for column in loan_columns %}
        {{ column }},
        {%- endfor %}
        coalesce(message_problem, {{ loan_problem() }}) as loan_problem,
        {{ dbt.concat([
            "'kafka:'", 'topic', "'/'",
            dbt.safe_cast('kafka_partition', dbt.type_string()), "'/'",
            dbt.safe_cast('kafka_offset', dbt.type_string()),
        ]) }} as record_ref,
        -- the latest event wins: Kafka's timestamp, then the offset (one loan id keeps to
        -- one partition, so offsets order its events)
        coalesce(message_timestamp, landed_at) as precedence_time,
        kafka_offset as precedence_position,
        cast(null as {{ dbt.type_string() }}) as file_sha256

    from stg_raw__loan_events
    {% if is_incremental() %}
    -- the consumer's latest batch is read again (merged, so counted once): a message that
    -- committed in the same instant as the last run's newest is never missed
    where landed_at >= {{ watermark_literal('landed_at', "(select landed_at from " ~ this ~ " where record_source = 'stream') as stream") }}
    {% endif %}

),

stream_records_new as (

    select * from stream_records
    {% if is_incremental() %}
    -- ...and only the messages not here yet go on: a record merged again would be stamped
    -- again, and every model after this one would redo that batch's loans in each run
    where not exists (
        select 1 from {{ this }} as existing
        where existing.record_ref = stream_records.record_ref
    )
    {% endif %}

),

unioned as (

    select * from batch_records
    union all
    select * from stream_records_new

),

final as (

    select
        unioned.*,
        {{ run_timestamp() }} as dbt_loaded_at,
        -- categories a seed lists: a value it does not know could not be encoded
        case
            when unioned.loan_problem is not null then unioned.loan_problem
            when state_names.state_code is null then 'unknown_addr_state'
            when purposes.purpose is null then 'unknown_purpose'
            when unioned.emp_length is not null and emp_lengths.emp_length is null then 'unknown_emp_length'
        end as quarantine_reason

    from unioned
    left join state_names
        on unioned.addr_state = state_names.state_code
    left join purposes
        on unioned.purpose = purposes.purpose
    left join emp_lengths
        on unioned.emp_length = emp_lengths.emp_length

)

select * from final
