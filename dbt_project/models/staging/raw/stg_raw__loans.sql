{#- Batch-file loans: one row per landed line, typed, trimmed, spellings unified, with the
    original text of the columns whose problems int_loan_records_validated finds. Nothing is
    dropped here. -#}
with

source as (

    select * from {{ source('raw', 'loans') }}

),

texts as (

    select
        {%- for raw_name, name in raw_loan_columns() %}
        {{ clean_text(adapter.quote(raw_name)) }} as {{ name }}_text,
        {%- endfor %}
        _source_file,
        _file_sha256,
        _row_number,
        _batch_id,
        _landed_at

    from source

),

typed as (

    select
        {{ typed_loan_columns() }}
        {%- for raw_name, name in raw_loan_columns() %}
        {{ name }}_text,
        {%- endfor %}
        _source_file,
        _file_sha256,
        _row_number,
        _landed_at

    from texts

),

final as (

    select
        'batch' as record_source,
        {%- for raw_name, name in raw_loan_columns() if name not in ('term', 'pymnt_plan') %}
        {{ name }},
        {%- endfor %}
        term_months,
        pymnt_plan,
        emp_title_text as emp_title_raw,
        {%- for name in problem_text_columns() %}
        {{ name }}_text,
        {%- endfor %}
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        _file_sha256 as file_sha256,
        _row_number as source_row_number,
        _landed_at as landed_at

    from typed

)

select * from final
