{#- The values imputation fills in, fitted on the loans as seeds/imputation_policy.csv
    declares: one row per (column, group). Fitted by a full build (`--full-refresh`) and kept
    by incremental runs, which apply them to new loans: a loan's filled-in value never
    changes behind its back, and lookup_values lists exactly these values. -#}
{{ config(materialized='incremental', on_schema_change='fail') }}

with

-- the four columns fitting needs, computed once for the aggregates below (each would
-- otherwise run the whole banded view again over every loan)
int_loans_banded as {{ materialized_cte() }} (

    select
        letter_grade,
        income_band,
        int_rate,
        emp_length

    from {{ ref('int_loans_banded') }}

),

imputation_policy as (

    select * from {{ ref('imputation_policy') }}

),

purposes as (

    select * from {{ ref('purposes') }}

),

{%- set text = dbt.type_string() %}

mean_rate_by_grade as (

    select
        'int_rate' as column_name,
        'letter_grade' as group_column,
        letter_grade as group_value,
        cast(null as {{ text }}) as text_value,
        avg(int_rate) as number_value

    from int_loans_banded
    where int_rate is not null
    group by letter_grade

),

-- group '*' (every loan): the fallback for a group that had no value to fit, e.g. a grade
-- whose loans all lack a rate, or one first seen after the fit
mean_rate_overall as (

    select
        'int_rate' as column_name,
        'letter_grade' as group_column,
        '*' as group_value,
        cast(null as {{ text }}) as text_value,
        avg(int_rate) as number_value

    from int_loans_banded
    where int_rate is not null
    having count(*) > 0

),

emp_length_counts as (

    select
        income_band,
        emp_length,
        -- ties broken by the text, so the mode is deterministic
        row_number() over (partition by income_band order by count(*) desc, emp_length) as frequency_rank

    from int_loans_banded
    where emp_length is not null
    group by income_band, emp_length

),

emp_length_overall as (

    select
        'emp_length' as column_name,
        'income_band' as group_column,
        '*' as group_value,
        emp_length as text_value,
        cast(null as {{ dbt.type_float() }}) as number_value

    from int_loans_banded
    where emp_length is not null
    group by emp_length
    -- the mode; ties broken by the text
    order by count(*) desc, emp_length
    limit 1

),

mode_emp_length_by_band as (

    select
        'emp_length' as column_name,
        'income_band' as group_column,
        income_band as group_value,
        emp_length as text_value,
        cast(null as {{ dbt.type_float() }}) as number_value

    from emp_length_counts
    where frequency_rank = 1

),

constants as (

    select
        column_name,
        cast(null as {{ text }}) as group_column,
        cast(null as {{ text }}) as group_value,
        parameter as text_value,
        cast(null as {{ dbt.type_float() }}) as number_value

    from imputation_policy
    where method = 'constant'

),

purpose_words as (

    select
        'description' as column_name,
        'purpose' as group_column,
        purpose as group_value,
        initcap(replace(purpose, '_', ' ')) as text_value,
        cast(null as {{ dbt.type_float() }}) as number_value

    from purposes

),

fitted as (

    select * from mean_rate_by_grade
    union all
    select * from mean_rate_overall
    union all
    select * from mode_emp_length_by_band
    union all
    select * from emp_length_overall
    union all
    select * from constants
    union all
    select * from purpose_words

),

final as (

    -- only what the policy asks for
    select fitted.*
    from fitted
    inner join imputation_policy
        on fitted.column_name = imputation_policy.column_name
    {% if is_incremental() %}
    -- fitted once per full build; incremental runs keep the values
    where 1 = 0
    {% endif %}

)

select * from final
