{#- Each loan's group keys (mart_group_keys()) as fct_loans holds them, beside the keys it had
    at the build before (previous_*; a new loan's own keys): the group a loan leaves when a
    later record moves it, which the aggregate tables recompute with the one it joins.

    Incremental: the loans fct_loans wrote since this table was last written, their previous
    keys read from this table before the merge. The aggregate tables read the rows stamped
    since their own last build, so they build in the same runs as this table (a full refresh
    of this table alone forgets where moved loans were: refresh the aggregates with it). -#}
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

{%- set keys = mart_group_keys() %}

with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

changed_loans as (

    select
        loan_id,
        {{ keys | join(', ') }}

    from fct_loans
    {%- if is_incremental() %}
    where dbt_updated_at > {{ watermark_literal('dbt_updated_at', this) }}
    {%- endif %}

),

{%- if is_incremental() %}

stored as (

    select
        loan_id,
        {{ keys | join(', ') }}

    from {{ this }}
    where loan_id in (select loan_id from changed_loans)

),

{%- endif %}

final as (

    select
        changed_loans.loan_id,
        {%- for key in keys %}
        changed_loans.{{ key }},
        {%- endfor %}
        {%- for key in keys %}
        {%- if is_incremental() %}
        case when stored.loan_id is null then changed_loans.{{ key }} else stored.{{ key }} end as previous_{{ key }},
        {%- else %}
        changed_loans.{{ key }} as previous_{{ key }},
        {%- endif %}
        {%- endfor %}
        {{ run_timestamp() }} as dbt_updated_at

    from changed_loans
    {%- if is_incremental() %}
    left join stored
        on changed_loans.loan_id = stored.loan_id
    {%- endif %}

)

select * from final
