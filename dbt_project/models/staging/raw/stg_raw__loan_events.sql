{#- Stream loans: one row per Kafka message, its JSON value parsed into the same typed
    columns as the files (same macros), with the same original texts. A value that is not a
    JSON object, or lacks one of the 24 keys, keeps a message_problem. Incremental: each run
    parses only the messages that landed since the last one, so a run costs in proportion to
    the new events. -#}
{{
    config(
        materialized='incremental',
        unique_key=['topic', 'kafka_partition', 'kafka_offset'],
        incremental_strategy='merge',
        on_schema_change='fail',
        indexes=[
            {'columns': ['topic', 'kafka_partition', 'kafka_offset'], 'unique': True},
            {'columns': ['landed_at']},
        ],
    )
}}

with

source as (

    select * from {{ source('raw', 'loan_events') }}
    {% if is_incremental() %}
    -- the consumer's latest batch is read again (merged, so counted once): a message that
    -- committed in the same instant as the last run's newest is never missed
    where _landed_at >= coalesce((select max(landed_at) from {{ this }}), cast('1900-01-01' as timestamp))
    {% endif %}

),

-- parsed once per message (the parser traps errors, which costs; its result is read 48 times)
parsed as {{ materialized_cte() }} (

    select
        *,
        {{ json_parse('message_value') }} as payload

    from source

),

texts as (

    select
        {%- for raw_name, name in raw_loan_columns() %}
        {{ clean_text(json_get_text('payload', raw_name)) }} as {{ name }}_text,
        {%- endfor %}
        case
            when trim(message_value) = 'EOF' then 'end_of_stream_marker'
            when payload is null then 'unparseable_json'
            {%- for raw_name, name in raw_loan_columns() %}
            when not {{ json_has_key('payload', raw_name) }} then 'missing_key_{{ name }}'
            {%- endfor %}
        end as message_problem,
        topic,
        kafka_partition,
        kafka_offset,
        message_key,
        message_timestamp,
        _landed_at

    from parsed

),

typed as {{ materialized_cte() }} (

    select
        {{ typed_loan_columns() }}
        {%- for raw_name, name in raw_loan_columns() %}
        {{ name }}_text,
        {%- endfor %}
        message_problem,
        topic,
        kafka_partition,
        kafka_offset,
        message_key,
        message_timestamp,
        _landed_at

    from texts

),

final as (

    select
        'stream' as record_source,
        {%- for raw_name, name in raw_loan_columns() if name not in ('term', 'pymnt_plan') %}
        {{ name }},
        {%- endfor %}
        term_months,
        pymnt_plan,
        emp_title_text as emp_title_raw,
        {%- for name in problem_text_columns() %}
        {{ name }}_text,
        {%- endfor %}
        message_problem,
        topic,
        kafka_partition,
        kafka_offset,
        message_key,
        message_timestamp,
        _landed_at as landed_at

    from typed

)

select * from final
