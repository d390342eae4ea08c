-- The policy seed may only declare what int_loans_imputed implements: any other row would
-- silently impute nothing.
with

imputation_policy as (

    select * from {{ ref('imputation_policy') }}

),

supported as (

    select 'emp_title' as column_name, 'constant' as method, cast(null as {{ dbt.type_string() }}) as group_by
    union all
    select 'emp_length', 'mode_within_group', 'income_band'
    union all
    select 'annual_inc_joint', 'own_income_if_joint', 'loan_type'
    union all
    select 'int_rate', 'mean_within_group', 'letter_grade'
    union all
    select 'description', 'copy_column', 'purpose'

)

select imputation_policy.*
from imputation_policy
left join supported
    on imputation_policy.column_name = supported.column_name
    and imputation_policy.method = supported.method
    and coalesce(imputation_policy.group_by, '') = coalesce(supported.group_by, '')
where supported.column_name is null
