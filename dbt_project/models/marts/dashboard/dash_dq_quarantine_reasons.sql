{#- Why records were set aside: lines rejected at landing and records refused by
    validation, counted per source, stage and reason. -#}
with

fct_quarantined_loans as (

    select * from {{ ref('fct_quarantined_loans') }}

),

final as (

    select
        record_source,
        quarantine_stage,
        quarantine_reason,
        count(*) as records,
        max(landed_at) as last_landed_at

    from fct_quarantined_loans
    group by record_source, quarantine_stage, quarantine_reason

)

select * from final
