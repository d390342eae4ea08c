{#- Outlier fences of income and balances: Tukey's 1.5 IQR fences on the original values
    of the deduplicated loans. int_loans_capped caps at them; originals are kept. Fitted by a
    full build (`--full-refresh`), kept by incremental runs (as int_imputation_values). -#}
{{ config(materialized='incremental', on_schema_change='fail') }}
with

int_loans_deduplicated as (

    select * from {{ ref('int_loans_deduplicated') }}

),

{%- set columns = ['annual_inc', 'annual_inc_joint', 'avg_cur_bal', 'tot_cur_bal'] %}

quartiles as (

    {%- for column in columns %}
    select
        '{{ column }}' as column_name,
        {{ percentile_cont(column, 0.25) }} as q1,
        {{ percentile_cont(column, 0.75) }} as q3,
        count({{ column }}) as values_count

    from int_loans_deduplicated
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    select
        column_name,
        'iqr_capping' as method,
        q1,
        q3,
        q3 - q1 as iqr,
        q1 - 1.5 * (q3 - q1) as lower_fence,
        q3 + 1.5 * (q3 - q1) as upper_fence,
        values_count

    from quartiles
    {% if is_incremental() %}
    where 1 = 0
    {% endif %}

)

select * from final
