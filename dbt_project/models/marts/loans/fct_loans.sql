{#- One row per loan, batch and stream unified and deduplicated: cleaned, imputed,
    outliers capped (originals kept), features, encodings and lag features. Incremental:
    merges the rows int_loans_lagged wrote in this run (new loans and their successors). -#}
{{
    config(
        materialized='incremental',
        unique_key='loan_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['loan_id'], 'unique': True}, {'columns': ['dbt_updated_at']}],
    )
}}
with

int_loans_lagged as (

    select * from {{ ref('int_loans_lagged') }}
    {% if is_incremental() %}
    where dbt_updated_at > {{ watermark_literal('dbt_updated_at', this) }}
    {% endif %}

),

final as (

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
        prev_issue_date_in_grade,
        prev_loan_amount_in_grade,
        prev_issue_date_in_state_grade,
        prev_loan_amount_in_state_grade,
        record_ref,
        landed_at,
        dbt_updated_at

    from int_loans_lagged

)

select * from final
