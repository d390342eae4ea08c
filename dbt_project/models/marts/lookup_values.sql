{#- The reversible lookup table: every code an encoding produced and every value an
    imputation filled in, so each encoded or imputed column of fct_loans can be turned back
    into what arrived (tests/assert_lookup_values_reverse_fct_loans.sql proves it).

    kind:
      encoding         original_value -> code or one-hot column (encoded_value)
      imputation       a missing value (original_value null) -> the value filled in, within
                       the group named by context (e.g. letter_grade=C); every fitted value,
                       from int_imputation_values
      canonical_title  a raw employment title -> its canonical title (python_steps)
      fitted_parameter a parameter fitted in python_steps (context names it)
      outlier_fence    an IQR fence the column is capped at (context names it) -#}

{#- Rebuilt whole (every canonical title) whatever a batch brought, and read by no model: in
    continuous mode it is refreshed on the periodic lane, with the test that proves it reverses
    fct_loans, rather than in every cycle. -#}
{{ config(tags=['periodic']) }}

with

emp_lengths as (

    select * from {{ ref('emp_lengths') }}

),

purposes as (

    select * from {{ ref('purposes') }}

),

grade_bands as (

    select * from {{ ref('grade_bands') }}

),

int_state_codes as (

    select * from {{ ref('int_state_codes') }}

),

int_imputation_values as (

    select * from {{ ref('int_imputation_values') }}

),

imputation_policy as (

    select * from {{ ref('imputation_policy') }}

),

int_outlier_fences as (

    select * from {{ ref('int_outlier_fences') }}

),

stg_python_steps__emp_title_map as (

    select * from {{ ref('stg_python_steps__emp_title_map') }}

),

stg_python_steps__fitted_transforms as (

    select * from {{ ref('stg_python_steps__fitted_transforms') }}

),

{%- set text = dbt.type_string() %}

encodings as (

    select
        'emp_length' as column_name,
        emp_length as original_value,
        cast(emp_length_years as {{ text }}) as encoded_value,
        'encoding' as kind,
        'emp_length_years' as context
    from emp_lengths

    union all

    select 'addr_state', state_code, cast(state_label_code as {{ text }}), 'encoding', 'addr_state_code'
    from int_state_codes

    union all

    select 'purpose', purpose, cast(purpose_code as {{ text }}), 'encoding', 'purpose_code'
    from purposes

    union all

    select 'grade', cast(min_grade as {{ text }}), letter_grade, 'encoding', 'letter_grade (grade from min_grade to max_grade)'
    from grade_bands

    {%- for column, categories in one_hot_categories().items() %}
    {%- for category in categories %}

    union all

    select '{{ column }}', '{{ category }}', '{{ column }}_{{ slug(category) }}', 'encoding', 'one_hot'
    {%- endfor %}
    {%- endfor %}

),

imputations as (

    select
        int_imputation_values.column_name,
        cast(null as {{ text }}) as original_value,
        coalesce(int_imputation_values.text_value, {{ float_to_text('int_imputation_values.number_value') }})
            as encoded_value,
        'imputation' as kind,
        case
            when int_imputation_values.group_column is not null
                then {{ dbt.concat(['int_imputation_values.group_column', "'='", 'int_imputation_values.group_value']) }}
        end as context

    from int_imputation_values

    union all

    select
        'annual_inc_joint',
        cast(null as {{ text }}),
        'annual_inc',
        'imputation',
        'loan_type=Joint (the applicant''s own income)'
    from imputation_policy
    where column_name = 'annual_inc_joint' and method = 'own_income_if_joint'

),

canonical_titles as (

    select
        'emp_title' as column_name,
        emp_title_raw as original_value,
        emp_title_canonical as encoded_value,
        'canonical_title' as kind,
        cluster_key as context

    from stg_python_steps__emp_title_map

),

fitted_parameters as (

    select
        column_name,
        cast(null as {{ text }}) as original_value,
        {{ float_to_text('parameter_value') }} as encoded_value,
        'fitted_parameter' as kind,
        {{ dbt.concat(['method', "' '", 'parameter_name']) }} as context

    from stg_python_steps__fitted_transforms

),

outlier_fences as (

    select
        column_name, cast(null as {{ text }}) as original_value, {{ float_to_text('lower_fence') }} as encoded_value,
        'outlier_fence' as kind, 'lower_fence (1.5 IQR)' as context
    from int_outlier_fences
    -- a column with no value yet (no joint income among the first loans) has no fence to record
    where lower_fence is not null
    union all
    select column_name, cast(null as {{ text }}), {{ float_to_text('upper_fence') }}, 'outlier_fence', 'upper_fence (1.5 IQR)'
    from int_outlier_fences
    where upper_fence is not null

),

final as (

    select * from encodings
    union all
    select * from imputations
    union all
    select * from canonical_titles
    union all
    select * from fitted_parameters
    union all
    select * from outlier_fences

)

select * from final
