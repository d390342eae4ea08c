with

source as (

    select * from {{ source('python_steps', 'emp_title_map') }}

),

final as (

    select
        raw_title as emp_title_raw,
        canonical_title as emp_title_canonical,
        cluster_key

    from source

)

select * from final
