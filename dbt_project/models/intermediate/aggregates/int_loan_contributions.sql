{#- What each loan contributes to the aggregate tables, as fct_loans holds it now (its group
    keys, mart_group_keys(), and the columns the tables sum, count or take the extreme of,
    mart_contribution_columns()), beside what it contributed at the build before (previous_*,
    null for a new loan): an aggregate table adds the one and takes back the other.

    Incremental: the loans fct_loans wrote since this table was last written, their previous
    contribution read from this table before the merge, with the run that wrote it
    (previous_updated_at). An aggregate table that has not yet counted that run cannot take
    it back, and recomputes instead (macros/marts/regrouped.sql). -#}
{{
    config(
        materialized='incremental',
        unique_key='loan_id',
        incremental_strategy='merge',
        on_schema_change='fail',
        indexes=[
            {'columns': ['loan_id'], 'unique': True},
            {'columns': ['dbt_updated_at']},
        ],
    )
}}

{%- set columns = mart_group_keys() + mart_contribution_columns() %}

with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

changed_loans as (

    select
        loan_id,
        {{ columns | join(', ') }}

    from fct_loans
    {%- if is_incremental() %}
    where dbt_updated_at > {{ watermark_literal('dbt_updated_at', this) }}
    {%- endif %}

),

{%- if is_incremental() %}

stored as (

    select
        loan_id,
        {{ columns | join(', ') }},
        dbt_updated_at

    from {{ this }}
    where loan_id in (select loan_id from changed_loans)

),

{%- endif %}

final as (

    select
        changed_loans.loan_id,
        {%- for column in columns %}
        changed_loans.{{ column }},
        {%- endfor %}
        {#- a full build has no previous contributions: typed nulls -#}
        {%- for column in columns %}
        {{ 'stored.' ~ column if is_incremental() else 'case when false then changed_loans.' ~ column ~ ' end' }}
            as previous_{{ column }},
        {%- endfor %}
        {{ 'stored.dbt_updated_at' if is_incremental() else 'case when false then ' ~ run_timestamp() ~ ' end' }}
            as previous_updated_at,
        {{ run_timestamp() }} as dbt_updated_at

    from changed_loans
    {%- if is_incremental() %}
    left join stored
        on changed_loans.loan_id = stored.loan_id
    {%- endif %}

)

select * from final
