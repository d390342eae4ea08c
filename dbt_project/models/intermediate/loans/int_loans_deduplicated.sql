{#- One record per loan: the winner of int_loan_records_ranked. Incremental: merges the
    winners of the loans ranked again in this run. -#}
{{
    config(
        materialized='incremental',
        unique_key='loan_id',
        incremental_strategy='merge',
        on_schema_change='fail',
        indexes=[{'columns': ['loan_id'], 'unique': True}, {'columns': ['dbt_ranked_at']}],
    )
}}
with

int_loan_records_ranked as (

    select * from {{ ref('int_loan_records_ranked') }}

),

final as (

    select * from int_loan_records_ranked
    where
        precedence_rank = 1
    {% if is_incremental() %}
        and dbt_ranked_at > {{ watermark_literal('dbt_ranked_at', this) }}
    {% endif %}

)

select * from final
