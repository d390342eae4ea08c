{#- State codes, full names and a stable label code (alphabetical position of the code). -#}
{{ config(materialized='view') }}

with

state_names as (

    select * from {{ ref('state_names') }}

),

final as (

    select
        state_code,
        state_name,
        cast(row_number() over (order by state_code) as integer) as state_label_code

    from state_names

)

select * from final
