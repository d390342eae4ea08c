with

source as (

    select * from {{ source('python_steps', 'fitted_transforms') }}

),

final as (

    select
        column_name,
        method,
        parameter_name,
        parameter_value,
        fitted_rows,
        fitted_at

    from source

)

select * from final
