{#- Features and encodings: issue year and month, salary can cover, monthly installment,
    default flag, full state name; employment length as a number, one-hot columns, and
    label codes for state and purpose (codes from the seeds, listed in lookup_values). -#}
{{ config(materialized='view') }}

with

int_loans_capped as (

    select * from {{ ref('int_loans_capped') }}

),

emp_lengths as (

    select * from {{ ref('emp_lengths') }}

),

purposes as (

    select * from {{ ref('purposes') }}

),

dim_state_codes as (

    select * from {{ ref('int_state_codes') }}

),

final as (

    select
        int_loans_capped.*,
        cast(extract(year from int_loans_capped.issue_date) as integer) as issue_year,
        cast(extract(month from int_loans_capped.issue_date) as integer) as issue_month,
        case when int_loans_capped.annual_inc >= int_loans_capped.loan_amount then 1 else 0 end as salary_can_cover,
        {{ monthly_installment('int_loans_capped.funded_amount', 'int_loans_capped.int_rate_imputed',
            'int_loans_capped.term_months') }} as installment,
        int_loans_capped.loan_status in ('Charged Off', 'Default') as is_defaulted,
        dim_state_codes.state_name,
        dim_state_codes.state_label_code as addr_state_code,
        purposes.purpose_code,
        emp_lengths.emp_length_years,
        {%- for column, categories in one_hot_categories().items() %}
        {%- for category in categories %}
        case when int_loans_capped.{{ column }} = '{{ category }}' then 1 else 0 end
            as {{ column }}_{{ slug(category) }},
        {%- endfor %}
        {%- endfor %}
        int_loans_capped.letter_grade as letter_grade_label

    from int_loans_capped
    left join emp_lengths
        on int_loans_capped.emp_length_imputed = emp_lengths.emp_length
    left join purposes
        on int_loans_capped.purpose = purposes.purpose
    left join dim_state_codes
        on int_loans_capped.addr_state = dim_state_codes.state_code

)

select * from final
