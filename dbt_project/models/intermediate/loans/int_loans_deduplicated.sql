{#- One record per loan: the winner of int_loan_records_ranked, joined to its record.
    Incremental: merges the winners of the loans ranked again in this run. -#}
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

int_loan_records_validated as (

    select * from {{ ref('int_loan_records_validated') }}

),

winners as (

    select record_ref, precedence_rank, dbt_ranked_at
    from int_loan_records_ranked
    where
        precedence_rank = 1
    {% if is_incremental() %}
        and dbt_ranked_at > {{ watermark_literal('dbt_ranked_at', this) }}
    {% endif %}

),

final as (

    select
        int_loan_records_validated.*,
        winners.precedence_rank,
        winners.dbt_ranked_at

    from winners
    inner join int_loan_records_validated
        on winners.record_ref = int_loan_records_validated.record_ref

)

select * from final
