{#- Lines the landing step could not split into 24 fields (kept verbatim by ingestion). -#}
with

source as (

    select * from {{ source('raw', 'rejected_rows') }}

),

final as (

    select
        source_file,
        file_sha256,
        line_number,
        raw_text,
        reason,
        cast(batch_id as {{ dbt.type_string() }}) as batch_id,
        rejected_at

    from source

)

select * from final
