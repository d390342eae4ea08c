{#- One row per loan, batch and stream unified and deduplicated: cleaned, imputed,
    outliers capped (originals kept), features, encodings and lag features. The columns
    published here, named and typed for the marts and the dashboard (the contract), are the
    encoded loan's, less its working columns (originals beside imputed values, precedence,
    file checksums), joined to the lags of int_loans_lagged.

    Incremental: the loans whose lags int_loans_lagged wrote since this table was last written
    (dbt_updated_at is that table's), each replaced whole. Those deduplicated again since then
    are read anew from int_loans_encoded, by a constant condition on dbt_ranked_at that reaches
    int_loans_deduplicated's index through the views (a join on loan_id does not: PostgreSQL
    would build every loan's row to keep a few); the others (their previous loan changed) keep
    their stored columns beside their new lags. -#}
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
        ],
    )
}}

with

int_loans_encoded as (

    select * from {{ ref('int_loans_encoded') }}

),

int_loans_lagged as (

    select * from {{ ref('int_loans_lagged') }}

),

{%- set since = watermark_literal('dbt_updated_at', this) if is_incremental() else none %}

lags as (

    select * from int_loans_lagged
    {%- if is_incremental() %}
    where dbt_updated_at > {{ since }}
    {%- endif %}

),

published as (

    select
        loan_id,
        customer_id,
        record_source,
        issue_date,
        issue_year,
        issue_month,
        cast(grade as integer) as grade,
        letter_grade,
        addr_state,
        state_name,
        loan_status,
        is_defaulted,
        loan_amount,
        funded_amount,
        cast(term_months as integer) as term_months,
        int_rate_imputed as int_rate,
        int_rate_was_imputed,
        installment,
        annual_inc,
        annual_inc_capped,
        annual_inc_is_outlier,
        income_band,
        annual_inc_joint_imputed as annual_inc_joint,
        annual_inc_joint_was_imputed,
        annual_inc_joint_capped,
        avg_cur_bal,
        avg_cur_bal_capped,
        avg_cur_bal_transformed,
        tot_cur_bal,
        tot_cur_bal_capped,
        tot_cur_bal_transformed,
        emp_title_imputed as emp_title,
        emp_title_raw,
        emp_title_was_imputed,
        emp_length_imputed as emp_length,
        emp_length_was_imputed,
        emp_length_years,
        home_ownership,
        verification_status,
        loan_type,
        purpose,
        description_imputed as description,
        description_was_imputed,
        salary_can_cover,
        zip_code,
        state as reported_state,
        pymnt_plan,
        {%- for column, categories in one_hot_categories().items() %}
        {%- for category in categories %}
        {{ column }}_{{ slug(category) }},
        {%- endfor %}
        {%- endfor %}
        addr_state_code,
        purpose_code,
        record_ref,
        landed_at,
        dbt_ranked_at

    from int_loans_encoded
    {%- if is_incremental() %}
    where dbt_ranked_at > {{ since }}
    {%- endif %}

),

{% if is_incremental() %}

{#- the loan columns the contract publishes, in one order for both branches -#}
{%- set loan_columns = model.columns.keys() | reject('in', lag_column_names() + ['dbt_updated_at']) | list %}

-- a loan whose previous loan changed: its other columns as stored
loans as (

    select {{ loan_columns | join(', ') }} from published

    union all

    select {{ qualified_columns('existing', loan_columns) }}
    from {{ this }} as existing
    inner join lags on existing.loan_id = lags.loan_id
    where not exists (select 1 from published where published.loan_id = existing.loan_id)

),

{% else %}

loans as (

    select * from published

),

{% endif %}

final as (

    select
        loans.*,
        {%- for column in lag_column_names() %}
        lags.{{ column }},
        {%- endfor %}
        lags.dbt_updated_at

    from loans
    inner join lags
        on loans.loan_id = lags.loan_id

)

select * from final
