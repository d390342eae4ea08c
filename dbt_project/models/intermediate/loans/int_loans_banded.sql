{#- The groupings imputation needs, on the deduplicated loans: letter grade (grade bands
    seed), income band (on the original income), and the canonical employment title
    (python_steps' title map). -#}
{{ config(materialized='view') }}

with

int_loans_deduplicated as (

    select * from {{ ref('int_loans_deduplicated') }}

),

grade_bands as (

    select * from {{ ref('grade_bands') }}

),

stg_python_steps__emp_title_map as (

    select * from {{ ref('stg_python_steps__emp_title_map') }}

),

final as (

    select
        int_loans_deduplicated.*,
        grade_bands.letter_grade,
        {{ income_band('int_loans_deduplicated.annual_inc') }} as income_band,
        stg_python_steps__emp_title_map.emp_title_canonical

    from int_loans_deduplicated
    left join grade_bands
        on int_loans_deduplicated.grade between grade_bands.min_grade and grade_bands.max_grade
    left join stg_python_steps__emp_title_map
        on int_loans_deduplicated.emp_title = stg_python_steps__emp_title_map.emp_title_raw

)

select * from final
