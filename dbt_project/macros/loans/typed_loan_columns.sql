{#- Select list that turns the text columns `<name>_text` of a relation into typed,
    trimmed columns with unified spellings. Shared by the file and the stream staging
    models: the rules live here once. -#}
{% macro typed_loan_columns() -%}
        {{ try_cast_bigint('loan_id_text') }} as loan_id,
        customer_id_text as customer_id,
        emp_title_text as emp_title,
        emp_length_text as emp_length,
        upper(home_ownership_text) as home_ownership,
        {{ try_cast_double('annual_inc_text') }} as annual_inc,
        {{ try_cast_double('annual_inc_joint_text') }} as annual_inc_joint,
        {{ unify_verification_status('verification_status_text') }} as verification_status,
        lower(zip_code_text) as zip_code,
        upper(addr_state_text) as addr_state,
        {{ try_cast_double('avg_cur_bal_text') }} as avg_cur_bal,
        {{ try_cast_double('tot_cur_bal_text') }} as tot_cur_bal,
        loan_status_text as loan_status,
        {{ try_cast_double('loan_amount_text') }} as loan_amount,
        upper(state_text) as state,
        {{ try_cast_double('funded_amount_text') }} as funded_amount,
        {{ try_cast_bigint("trim(replace(lower(term_text), 'months', ''))") }} as term_months,
        {{ try_cast_double('int_rate_text') }} as int_rate,
        {{ try_cast_bigint('grade_text') }} as grade,
        {{ try_parse_long_date('issue_date_text') }} as issue_date,
        {{ try_cast_boolean('pymnt_plan_text') }} as pymnt_plan,
        {{ unify_loan_type('loan_type_text') }} as loan_type,
        lower(replace(purpose_text, ' ', '_')) as purpose,
        description_text as description,
{%- endmacro %}

{#- Why a record cannot be used, or null. Reads the typed columns and their `_text`
    originals side by side (the originals of problem_text_columns()); the first problem found
    is the reason. int_loan_records_validated applies it, to rows typed once: each typed column
    it reads is a safe cast, and read through a view it would be cast again. -#}
{% macro loan_problem() -%}
    case
        when loan_id_text is null then 'missing_loan_id'
        {%- for column in numeric_loan_columns() %}
        when {{ column }}_text is not null and {{ column }} is null then 'non_numeric_{{ column }}'
        {%- endfor %}
        when issue_date_text is null then 'missing_issue_date'
        when issue_date is null then 'unparseable_issue_date'
        when loan_amount is null then 'missing_loan_amount'
        when loan_amount < 0 or funded_amount < 0 then 'negative_amount'
        when annual_inc < 0 or annual_inc_joint < 0 then 'negative_income'
        when avg_cur_bal < 0 or tot_cur_bal < 0 then 'negative_balance'
        when int_rate < 0 or int_rate > 1 then 'int_rate_out_of_range'
        when grade is null then 'missing_grade'
        when grade not between 1 and 35 then 'grade_out_of_range'
        when term_months is null then 'unparseable_term'
        when addr_state is null then 'missing_addr_state'
        when loan_type not in ('Individual', 'Joint', 'Direct Pay') then 'unknown_loan_type'
    end
{%- endmacro %}

{#- The columns whose `<name>_text` original loan_problem() reads beside the typed value:
    the staging models keep these originals for it. -#}
{% macro problem_text_columns() -%}
    {{ return(numeric_loan_columns() + ['issue_date']) }}
{%- endmacro %}

{#- Type: INDIVIDUAL / Individual, JOINT / Joint App, DIRECT_PAY -> Individual, Joint, Direct Pay. -#}
{% macro unify_loan_type(expr) -%}
    case upper(replace({{ expr }}, '_', ' '))
        when 'INDIVIDUAL' then 'Individual'
        when 'JOINT' then 'Joint'
        when 'JOINT APP' then 'Joint'
        when 'DIRECT PAY' then 'Direct Pay'
        else {{ expr }}
    end
{%- endmacro %}

{% macro unify_verification_status(expr) -%}
    case upper(replace({{ expr }}, '_', ' '))
        when 'VERIFIED' then 'Verified'
        when 'SOURCE VERIFIED' then 'Source Verified'
        when 'NOT VERIFIED' then 'Not Verified'
        else {{ expr }}
    end
{%- endmacro %}
