{#- The states the loans may carry: code, full name and the label code fct_loans uses. -#}
with

int_state_codes as (

    select * from {{ ref('int_state_codes') }}

),

final as (

    select
        state_code,
        state_name,
        state_label_code

    from int_state_codes

)

select * from final
