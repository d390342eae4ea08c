{#- The dashboard's freshness line, one row: when the newest loan in fct_loans landed, and when
    the marts were last built.

    Incremental: a build reads only the loans fct_loans wrote since the last one (through its
    index on dbt_updated_at), so the row costs what changed, not a scan of every loan. -#}
{{
    config(
        materialized='incremental',
        unique_key='scope',
        incremental_strategy='merge',
        on_schema_change='fail',
    )
}}

with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

written as (

    select
        landed_at,
        dbt_updated_at
    from fct_loans
    {%- if is_incremental() %}
    where dbt_updated_at > {{ watermark_literal('loans_written_at', this) }}
    {%- endif %}

),

-- what the last build found, merged with what this one reads
candidates as (

    select * from written
    {%- if is_incremental() %}

    union all

    select
        newest_landed_at as landed_at,
        loans_written_at as dbt_updated_at
    from {{ this }}
    {%- endif %}

),

final as (

    select
        'warehouse' as scope,
        max(landed_at) as newest_landed_at,
        max(dbt_updated_at) as loans_written_at,
        current_timestamp as built_at

    from candidates

)

select * from final
