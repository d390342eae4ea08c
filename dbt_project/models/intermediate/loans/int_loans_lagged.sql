{#- Lag features: the previous loan's issue date and amount within the same letter grade,
    and within the same state + letter grade. "Previous" follows issue date, then loan_id,
    since many loans share a date; the first loan of a group has none (null).

    Incremental: the loans deduplicated again in this run ("touched") are placed among the
    loans already here. The window runs over the narrow keys of every loan (a new loan may
    slot in anywhere), and the rows merged are the touched loans plus the loans whose
    previous loan changed (the successors of the touched ones). dbt_updated_at tells
    fct_loans which rows this run wrote. -#}
-- depends_on: {{ ref('int_loans_deduplicated') }}
{{
    config(
        materialized='incremental',
        unique_key='loan_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}

{%- set lag_columns = ['prev_issue_date_in_grade', 'prev_loan_amount_in_grade',
                       'prev_issue_date_in_state_grade', 'prev_loan_amount_in_state_grade'] %}
{%- set key_columns = ['loan_id', 'letter_grade', 'addr_state', 'issue_date', 'loan_amount'] %}

with

int_loans_encoded as (

    select * from {{ ref('int_loans_encoded') }}

),

{% if is_incremental() %}

touched as (

    -- a constant condition on a column of the deduplicated table: pushed down through the views
    select * from int_loans_encoded
    where dbt_ranked_at > {{ watermark_literal('dbt_ranked_at', this) }}

),

-- `not exists`, never `not in (select ...)`: an anti join whatever the row estimates (PostgreSQL
-- runs a NOT IN it expects to be large as a subquery per row: hours at a million loans)
keys as (

    select {{ key_columns | join(', ') }} from {{ this }} as existing
    where not exists (select 1 from touched where touched.loan_id = existing.loan_id)
    union all
    select {{ key_columns | join(', ') }} from touched

),

lagged_keys as (

    select
        loan_id,
        {{ lag_feature_columns() }}

    from keys
    {{ lag_feature_windows() }}

),

{%- set kept_columns = adapter.get_columns_in_relation(this) | map(attribute='name')
    | reject('in', lag_columns + ['dbt_updated_at']) | list %}

successors as (

    select
        {%- for column in kept_columns %}
        existing.{{ adapter.quote(column) }},
        {%- endfor %}
        {%- for column in lag_columns %}
        lagged_keys.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from {{ this }} as existing
    inner join lagged_keys
        on existing.loan_id = lagged_keys.loan_id
    where
        not exists (select 1 from touched where touched.loan_id = existing.loan_id)
        and (
            {%- for column in lag_columns %}
            {{ 'or ' if not loop.first }}existing.{{ column }} is distinct from lagged_keys.{{ column }}
            {%- endfor %}
        )

),

changed as (

    select
        touched.*,
        {%- for column in lag_columns %}
        lagged_keys.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from touched
    inner join lagged_keys
        on touched.loan_id = lagged_keys.loan_id

    union all

    select * from successors

),

{% else %}

-- a full build: one pass of the window over every loan
changed as (

    select
        int_loans_encoded.*,
        {{ lag_feature_columns() }}

    from int_loans_encoded
    {{ lag_feature_windows() }}

),

{% endif %}

final as (

    select
        changed.*,
        {{ run_timestamp() }} as dbt_updated_at

    from changed

)

select * from final
