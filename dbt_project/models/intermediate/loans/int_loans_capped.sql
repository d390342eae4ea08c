{#- Outliers: income and balances capped at the IQR fences (int_outlier_fences), and the
    skewed balances Yeo-Johnson transformed with the lambdas python_steps fitted. The
    original columns stay as they are. -#}
{{ config(materialized='view') }}

with

int_loans_imputed as (

    select * from {{ ref('int_loans_imputed') }}

),

int_outlier_fences as (

    select * from {{ ref('int_outlier_fences') }}

),

stg_python_steps__fitted_transforms as (

    select * from {{ ref('stg_python_steps__fitted_transforms') }}

),

{%- set capped_columns = ['annual_inc', 'annual_inc_joint', 'avg_cur_bal', 'tot_cur_bal'] %}
{%- set transformed_columns = ['avg_cur_bal', 'tot_cur_bal'] %}

fences as (

    select
        {%- for column in capped_columns %}
        max(case when column_name = '{{ column }}' then lower_fence end) as {{ column }}_lower_fence,
        max(case when column_name = '{{ column }}' then upper_fence end) as {{ column }}_upper_fence,
        {%- endfor %}
        count(*) as fence_rows

    from int_outlier_fences

),

lambdas as (

    select
        {%- for column in transformed_columns %}
        max(case
            when column_name = '{{ column }}' and method = 'yeo_johnson' and parameter_name = 'lambda'
                then parameter_value
        end) as {{ column }}_lambda,
        {%- endfor %}
        count(*) as parameter_rows

    from stg_python_steps__fitted_transforms

),

final as (

    select
        int_loans_imputed.*,
        {%- for column in capped_columns %}
        least(greatest(
            int_loans_imputed.{{ column }}{{ '_imputed' if column == 'annual_inc_joint' else '' }},
            fences.{{ column }}_lower_fence
        ), fences.{{ column }}_upper_fence) as {{ column }}_capped,
        {%- endfor %}
        {%- for column in transformed_columns %}
        {{ yeo_johnson('int_loans_imputed.' ~ column, 'lambdas.' ~ column ~ '_lambda') }} as {{ column }}_transformed,
        {%- endfor %}
        int_loans_imputed.annual_inc > fences.annual_inc_upper_fence
        or int_loans_imputed.annual_inc < fences.annual_inc_lower_fence as annual_inc_is_outlier

    from int_loans_imputed
    cross join fences
    left join lambdas
        on 1 = 1

)

select * from final
