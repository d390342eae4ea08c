{#- Select list that turns the text columns `<name>_text` of a relation into typed,
    trimmed columns with unified spellings. Shared by the file and the stream staging
    models: the rules live here once. -#}
{% macro typed_loan_columns() -%}
        {{ try_cast_bigint('loan_id_text') }} as loan_id,
        customer_id_text as customer_id,
        emp_title_text as emp_title,
        emp_length_text as emp_length,
        {{ ascii_upper('home_ownership_text') }} as home_ownership,
        {{ try_cast_double('annual_inc_text') }} as annual_inc,
        {{ try_cast_double('annual_inc_joint_text') }} as annual_inc_joint,
        {{ unify_verification_status('verification_status_text') }} as verification_status,
        {{ ascii_lower('zip_code_text') }} as zip_code,
        {{ ascii_upper('addr_state_text') }} as addr_state,
        {{ try_cast_double('avg_cur_bal_text') }} as avg_cur_bal,
        {{ try_cast_double('tot_cur_bal_text') }} as tot_cur_bal,
        loan_status_text as loan_status,
        {{ try_cast_double('loan_amount_text') }} as loan_amount,
        {{ ascii_upper('state_text') }} as state,
        {{ try_cast_double('funded_amount_text') }} as funded_amount,
        {{ try_cast_bigint("trim(replace(" ~ ascii_lower('term_text') ~ ", 'months', ''))") }} as term_months,
        {{ try_cast_double('int_rate_text') }} as int_rate,
        {{ try_cast_bigint('grade_text') }} as grade,
        {{ try_parse_long_date('issue_date_text') }} as issue_date,
        {{ try_cast_boolean('pymnt_plan_text') }} as pymnt_plan,
        {{ unify_loan_type('loan_type_text') }} as loan_type,
        {{ ascii_lower("replace(purpose_text, ' ', '_')") }} as purpose,
        description_text as description,
{%- endmacro %}

{#- Why a record cannot be used, or null: the first rule it breaks, as '<problem>_<column>'
    or '<column>_<problem>', so a reason always names its column. The rules (dbt_project.yml
    vars): every field at most max_text_length characters; a numeric field is a number; the
    required columns are present; numbers within value_ranges; categories among the known ones
    (the state, purpose and employment-length seeds are joined in
    int_loan_records_validated). Reads the typed columns and the `_text` originals of
    problem_text_columns(); every typed text column has its original's length (trimmed, and
    folded or unified by rules that keep the length or give a known spelling). -#}
{% macro loan_problem() -%}
    {%- set ranges = var('value_ranges') -%}
    {%- set max_length = var('max_text_length') -%}
    case
        when loan_id_text is null then 'missing_loan_id'
        {%- for column in problem_text_columns() %}
        when length({{ column }}_text) > {{ max_length }} then 'too_long_{{ column }}'
        {%- endfor %}
        {%- for column in long_text_loan_columns() %}
        when length({{ column }}) > {{ max_length }} then 'too_long_{{ column }}'
        {%- endfor %}
        {%- for column in numeric_loan_columns() %}
        when {{ column }}_text is not null and {{ column }} is null then 'non_numeric_{{ column }}'
        {%- endfor %}
        when issue_date_text is not null and issue_date is null then 'unparseable_issue_date'
        -- a term reads as a whole number of months ('36 months', ' 60 months', '36')
        when term_months is null then 'unparseable_term'
        {%- for column in var('required_columns') if column != 'term_months' %}
        when {{ column }} is null then 'missing_{{ column }}'
        {%- endfor %}
        {%- for column, bounds in ranges.items() if column != 'issue_year' %}
        when {{ column }} {{ '<=' if 'min' in bounds.get('exclusive', []) else '<' }} {{ bounds['min'] }}
            or {{ column }} {{ '>=' if 'max' in bounds.get('exclusive', []) else '>' }} {{ bounds['max'] }}
            then '{{ column }}_out_of_range'
        {%- endfor %}
        {%- for column, categories in one_hot_categories().items() %}
        when {{ column }} not in ('{{ categories | join("', '") }}') then 'unknown_{{ column }}'
        {%- endfor %}
    end
{%- endmacro %}

{#- Text columns read as they arrived (trimmed): only their length is checked. -#}
{% macro long_text_loan_columns() -%}
    {{ return(['customer_id', 'emp_title', 'emp_length', 'home_ownership', 'verification_status',
               'zip_code', 'addr_state', 'loan_status', 'state', 'loan_type', 'purpose',
               'description']) }}
{%- endmacro %}

{#- The columns whose `<name>_text` original loan_problem() reads beside the typed value:
    the staging models keep these originals for it. -#}
{% macro problem_text_columns() -%}
    {{ return(numeric_loan_columns() + ['issue_date']) }}
{%- endmacro %}

{#- Type: INDIVIDUAL / Individual, JOINT / Joint App, DIRECT_PAY -> Individual, Joint, Direct Pay. -#}
{% macro unify_loan_type(expr) -%}
    case {{ ascii_upper("replace(" ~ expr ~ ", '_', ' ')") }}
        when 'INDIVIDUAL' then 'Individual'
        when 'JOINT' then 'Joint'
        when 'JOINT APP' then 'Joint'
        when 'DIRECT PAY' then 'Direct Pay'
        else {{ expr }}
    end
{%- endmacro %}

{% macro unify_verification_status(expr) -%}
    case {{ ascii_upper("replace(" ~ expr ~ ", '_', ' ')") }}
        when 'VERIFIED' then 'Verified'
        when 'SOURCE VERIFIED' then 'Source Verified'
        when 'NOT VERIFIED' then 'Not Verified'
        else {{ expr }}
    end
{%- endmacro %}
