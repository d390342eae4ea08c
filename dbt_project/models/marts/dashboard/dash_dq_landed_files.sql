{#- One row per landed file, newest first: what each file brought and what was rejected. -#}
with

stg_raw__landed_files as (

    select * from {{ ref('stg_raw__landed_files') }}

),

final as (

    select
        file_sha256,
        source_file,
        batch_id,
        rows_read,
        rows_landed,
        rows_rejected,
        landed_at,
        row_number() over (order by landed_at desc, file_sha256 asc) as recency_rank

    from stg_raw__landed_files

)

select * from final
