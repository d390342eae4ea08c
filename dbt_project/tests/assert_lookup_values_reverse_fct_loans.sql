-- Reversibility: applying lookup_values to the encoded and imputed columns of fct_loans
-- gives back every original value that was present (as staged, before imputation and
-- encoding). Returns one row per loan and column that does not come back.
with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

originals as (

    select * from {{ ref('int_loans_deduplicated') }}

),

lookup_values as (

    select * from {{ ref('lookup_values') }}

),

{%- set text = dbt.type_string() %}

reversed as (

    select
        fct_loans.loan_id,
        -- imputed columns: a filled-in value reverses to missing
        case when fct_loans.emp_length_was_imputed then null else fct_loans.emp_length end as emp_length,
        case when fct_loans.int_rate_was_imputed then null else fct_loans.int_rate end as int_rate,
        case when fct_loans.description_was_imputed then null else fct_loans.description end as description,
        case when fct_loans.annual_inc_joint_was_imputed then null else fct_loans.annual_inc_joint end as annual_inc_joint,
        case when fct_loans.emp_title_was_imputed then null else titles.original_value end as emp_title,
        state_codes.original_value as addr_state,
        purpose_codes.original_value as purpose,
        length_codes.original_value as emp_length_from_years,
        home.original_value as home_ownership,
        verification.original_value as verification_status,
        loan_types.original_value as loan_type,
        -- the canonical title must be the one the lookup gives for the raw title
        titles.encoded_value as emp_title_canonical_lookup,
        fct_loans.emp_title as emp_title_canonical,
        fct_loans.emp_title_was_imputed

    from fct_loans
    left join lookup_values as state_codes
        on state_codes.column_name = 'addr_state' and state_codes.kind = 'encoding'
        and state_codes.encoded_value = cast(fct_loans.addr_state_code as {{ text }})
    left join lookup_values as purpose_codes
        on purpose_codes.column_name = 'purpose' and purpose_codes.kind = 'encoding'
        and purpose_codes.encoded_value = cast(fct_loans.purpose_code as {{ text }})
    left join lookup_values as length_codes
        on length_codes.column_name = 'emp_length' and length_codes.kind = 'encoding'
        and length_codes.encoded_value = cast(fct_loans.emp_length_years as {{ text }})
    left join lookup_values as titles
        on titles.column_name = 'emp_title' and titles.kind = 'canonical_title'
        and fct_loans.emp_title_raw = titles.original_value
    {%- for column, categories in one_hot_categories().items() %}
    {%- set alias = {'home_ownership': 'home', 'verification_status': 'verification', 'loan_type': 'loan_types'}[column] %}
    left join lookup_values as {{ alias }}
        on {{ alias }}.column_name = '{{ column }}' and {{ alias }}.kind = 'encoding'
        and {{ alias }}.encoded_value = case
            {%- for category in categories %}
            when fct_loans.{{ column }}_{{ slug(category) }} = 1 then '{{ column }}_{{ slug(category) }}'
            {%- endfor %}
        end
    {%- endfor %}

),

checks as (

    {%- set pairs = [
        ('emp_length', 'reversed.emp_length', 'originals.emp_length'),
        ('emp_length_years', 'reversed.emp_length_from_years', 'fct_emp_length'),
        ('int_rate', 'reversed.int_rate', 'originals.int_rate'),
        ('description', 'reversed.description', 'originals.description'),
        ('annual_inc_joint', 'reversed.annual_inc_joint', 'originals.annual_inc_joint'),
        ('emp_title', 'reversed.emp_title', 'originals.emp_title'),
        ('emp_title_canonical', 'reversed.emp_title_canonical_lookup', 'canonical_if_mapped'),
        ('addr_state', 'reversed.addr_state', 'originals.addr_state'),
        ('purpose', 'reversed.purpose', 'originals.purpose'),
        ('home_ownership', 'reversed.home_ownership', 'originals.home_ownership'),
        ('verification_status', 'reversed.verification_status', 'originals.verification_status'),
        ('loan_type', 'reversed.loan_type', 'originals.loan_type'),
    ] %}
    {%- for name, got, expected in pairs %}
    {%- if expected == 'fct_emp_length' %}
    {%- set expected = 'case when reversed.emp_length_from_years is null then null else fct_loans.emp_length end' %}
    {%- elif expected == 'canonical_if_mapped' %}
    {%- set expected = 'case when reversed.emp_title_canonical_lookup is null then null else reversed.emp_title_canonical end' %}
    {%- endif %}
    select
        reversed.loan_id,
        '{{ name }}' as column_name,
        cast({{ got }} as {{ text }}) as reversed_value,
        cast({{ expected }} as {{ text }}) as original_value
    from reversed
    inner join originals on reversed.loan_id = originals.loan_id
    inner join fct_loans on reversed.loan_id = fct_loans.loan_id
    where not ({{ got }} = {{ expected }} or ({{ got }} is null and {{ expected }} is null))
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select * from checks
