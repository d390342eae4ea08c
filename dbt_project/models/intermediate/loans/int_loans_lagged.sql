{#- Lag features, narrow: each loan's previous issue date and amount within its letter grade
    and within its state + letter grade (macros/loans/lag_features.sql), beside the keys that
    place it (lag_key_columns()). fct_loans joins them to the loans' other columns.

    Incremental: the loans deduplicated again since this table was last written ("touched")
    are placed among the loans here; the rows merged are the touched loans and the loans whose
    previous loan changed (macros/loans/lag_increments.sql chooses the way per engine and per
    run's size). dbt_updated_at tells fct_loans which rows this run wrote. -#}
{#- The last two indexes serve the neighbour lookups of an incremental run (PostgreSQL). -#}
{{
    config(
        materialized='incremental',
        unique_key='loan_id',
        incremental_strategy='merge',
        on_schema_change='fail',
        pre_hook="{{ prefer_parallel_plans() }}",
        indexes=[
            {'columns': ['loan_id'], 'unique': True},
            {'columns': ['dbt_updated_at']},
            {'columns': ['letter_grade', 'issue_date', 'loan_id']},
            {'columns': ['addr_state', 'letter_grade', 'issue_date', 'loan_id']},
        ],
    )
}}

{#- Read by an incremental run's index lookups: whether a stored loan was touched. -#}
{%- set int_loans_deduplicated = ref('int_loans_deduplicated') %}

with

-- the keys are read where they are made: imputation, caps and encodings change none of them
-- (reading them through those views took twice as long at a million loans)
int_loans_banded as (

    select * from {{ ref('int_loans_banded') }}

),

{% if is_incremental() %}

{%- set since = watermark_literal('dbt_updated_at', this) %}

-- a constant condition on a column of the deduplicated table: pushed down through the view
touched as (

    select {{ lag_key_columns() | join(', ') }}
    from int_loans_banded
    where dbt_ranked_at > {{ since }}

),

lagged as (

    {{ incremental_lag_rows('touched', int_loans_deduplicated, since) }}

),

{% else %}

-- a full build: the windows sort the narrow keys of every loan
lagged as (

    select
        {{ lag_key_columns() | join(', ') }},
        {{ lag_feature_columns() }}

    from int_loans_banded
    {{ lag_feature_windows() }}

),

{% endif %}

final as (

    select
        lagged.*,
        {{ run_timestamp() }} as dbt_updated_at

    from lagged

)

select * from final
