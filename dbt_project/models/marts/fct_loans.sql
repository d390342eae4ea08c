with

stg_raw__loans as (

    select * from {{ ref('stg_raw__loans') }}

),

final as (

    select
        loan_id,
        customer_id,
        addr_state,
        loan_amount,
        funded_amount,
        int_rate,
        grade,
        loan_status

    from stg_raw__loans

)

select * from final
