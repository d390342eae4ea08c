{#- Fills every missing value DATA.md lists, as seeds/imputation_policy.csv declares, with
    the values int_imputation_values fitted, and flags each filled value
    (<column>_was_imputed) so that lookup_values can reverse it. -#}
{{ config(materialized='view') }}

with

int_loans_banded as (

    select * from {{ ref('int_loans_banded') }}

),

int_imputation_values as (

    select * from {{ ref('int_imputation_values') }}

),

imputation_policy as (

    select * from {{ ref('imputation_policy') }}

),

-- one row holding each column's declared method
policy as (

    select
        {%- for column in ['emp_title', 'emp_length', 'annual_inc_joint', 'int_rate', 'description'] %}
        max(case when column_name = '{{ column }}' then method end) as {{ column }}_method,
        {%- endfor %}
        count(*) as policy_rows

    from imputation_policy

),

emp_title_constant as (

    select max(text_value) as emp_title_fill
    from int_imputation_values
    where column_name = 'emp_title'

),

final as (

    select
        int_loans_banded.*,
        case
            when int_loans_banded.emp_title is not null
                then coalesce(int_loans_banded.emp_title_canonical, int_loans_banded.emp_title)
            when policy.emp_title_method = 'constant' then emp_title_constant.emp_title_fill
        end as emp_title_imputed,
        int_loans_banded.emp_title is null as emp_title_was_imputed,
        case
            when int_loans_banded.emp_length is not null then int_loans_banded.emp_length
            when policy.emp_length_method = 'mode_within_group'
                then coalesce(emp_length_fill.text_value, emp_length_fallback.text_value)
        end as emp_length_imputed,
        int_loans_banded.emp_length is null as emp_length_was_imputed,
        case
            when int_loans_banded.annual_inc_joint is not null then int_loans_banded.annual_inc_joint
            when policy.annual_inc_joint_method = 'own_income_if_joint' and int_loans_banded.loan_type = 'Joint'
                then int_loans_banded.annual_inc
        end as annual_inc_joint_imputed,
        int_loans_banded.annual_inc_joint is null and int_loans_banded.loan_type = 'Joint'
            as annual_inc_joint_was_imputed,
        case
            when int_loans_banded.int_rate is not null then int_loans_banded.int_rate
            when policy.int_rate_method = 'mean_within_group'
                then coalesce(int_rate_fill.number_value, int_rate_fallback.number_value)
        end as int_rate_imputed,
        int_loans_banded.int_rate is null as int_rate_was_imputed,
        case
            when int_loans_banded.description is not null then int_loans_banded.description
            when policy.description_method = 'copy_column' then description_fill.text_value
        end as description_imputed,
        int_loans_banded.description is null as description_was_imputed

    from int_loans_banded
    cross join policy
    cross join emp_title_constant
    left join int_imputation_values as int_rate_fill
        on int_rate_fill.column_name = 'int_rate'
        and int_loans_banded.letter_grade = int_rate_fill.group_value
    left join int_imputation_values as emp_length_fill
        on emp_length_fill.column_name = 'emp_length'
        and int_loans_banded.income_band = emp_length_fill.group_value
    -- group '*': every loan, for a group that had nothing to fit
    left join int_imputation_values as int_rate_fallback
        on int_rate_fallback.column_name = 'int_rate'
        and int_rate_fallback.group_value = '*'
    left join int_imputation_values as emp_length_fallback
        on emp_length_fallback.column_name = 'emp_length'
        and emp_length_fallback.group_value = '*'
    left join int_imputation_values as description_fill
        on description_fill.column_name = 'description'
        and int_loans_banded.purpose = description_fill.group_value

)

select * from final
