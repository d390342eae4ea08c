with

source as (

    select * from {{ source('raw', 'landed_files') }}

),

final as (

    select
        file_sha256,
        source_file,
        cast(batch_id as {{ dbt.type_string() }}) as batch_id,
        rows_read,
        rows_landed,
        rows_rejected,
        landed_at

    from source

)

select * from final
