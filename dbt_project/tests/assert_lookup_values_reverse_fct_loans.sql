-- Reversibility: applying lookup_values to the encoded and imputed columns of fct_loans
-- gives back every original value that was present (as staged, before imputation and
-- encoding). Returns one row per loan and column that does not come back. Checks the loans the
-- latest build wrote, as fct_loans' other tests do (macros/tests/latest_build.sql).
{{ config(tags=['periodic']) }}

with

fct_loans as (

    select * from {{ ref('fct_loans') }}
    where {{ latest_build_condition('dbt_updated_at', ref('fct_loans')) }}

),

originals as (

    select * from {{ ref('int_loans_deduplicated') }}

),

-- The lookup split in two: PostgreSQL materializes a CTE read more than once and then guesses
-- that a filter on it keeps a few rows, so joining the whole lookup (every title of the map)
-- once per category became a nested loop over it (a minute at a million loans). The encodings
-- are a few dozen rows; the title map is read once, inlined and planned with its statistics.
encodings as (

    select * from {{ ref('lookup_values') }}
    where kind = 'encoding'

),

title_lookup as (

    select original_value, encoded_value
    from {{ ref('lookup_values') }}
    where column_name = 'emp_title' and kind = 'canonical_title'

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
        fct_loans.emp_title_was_imputed,
        fct_loans.emp_length as emp_length_imputed

    from fct_loans
    left join encodings as state_codes
        on state_codes.column_name = 'addr_state' and state_codes.kind = 'encoding'
        and state_codes.encoded_value = cast(fct_loans.addr_state_code as {{ text }})
    left join encodings as purpose_codes
        on purpose_codes.column_name = 'purpose' and purpose_codes.kind = 'encoding'
        and purpose_codes.encoded_value = cast(fct_loans.purpose_code as {{ text }})
    left join encodings as length_codes
        on length_codes.column_name = 'emp_length' and length_codes.kind = 'encoding'
        and length_codes.encoded_value = cast(fct_loans.emp_length_years as {{ text }})
    left join title_lookup as titles
        on fct_loans.emp_title_raw = titles.original_value
    {%- for column, categories in one_hot_categories().items() %}
    {%- set alias = {'home_ownership': 'home', 'verification_status': 'verification', 'loan_type': 'loan_types'}[column] %}
    left join encodings as {{ alias }}
        on {{ alias }}.column_name = '{{ column }}' and {{ alias }}.kind = 'encoding'
        and {{ alias }}.encoded_value = case
            {%- for category in categories %}
            when fct_loans.{{ column }}_{{ slug(category) }} = 1 then '{{ column }}_{{ slug(category) }}'
            {%- endfor %}
        end
    {%- endfor %}

),

{%- set pairs = [
    ('emp_length', 'reversed.emp_length', 'originals.emp_length'),
    ('emp_length_years', 'reversed.emp_length_from_years',
     'case when reversed.emp_length_from_years is null then null else reversed.emp_length_imputed end'),
    ('int_rate', 'reversed.int_rate', 'originals.int_rate'),
    ('description', 'reversed.description', 'originals.description'),
    ('annual_inc_joint', 'reversed.annual_inc_joint', 'originals.annual_inc_joint'),
    ('emp_title', 'reversed.emp_title', 'originals.emp_title'),
    ('emp_title_canonical', 'reversed.emp_title_canonical_lookup',
     'case when reversed.emp_title_canonical_lookup is null then null else reversed.emp_title_canonical end'),
    ('addr_state', 'reversed.addr_state', 'originals.addr_state'),
    ('purpose', 'reversed.purpose', 'originals.purpose'),
    ('home_ownership', 'reversed.home_ownership', 'originals.home_ownership'),
    ('verification_status', 'reversed.verification_status', 'originals.verification_status'),
    ('loan_type', 'reversed.loan_type', 'originals.loan_type'),
] %}

-- every reversed value beside the original it must equal: one join of the two tables
-- (not one per column, which made this test the slowest node of a build)
compared as (

    select
        {%- for name, got, expected in pairs %}
        {{ got }} as reversed_{{ name }},
        {{ expected }} as original_{{ name }},
        {%- endfor %}
        reversed.loan_id

    from reversed
    inner join originals on reversed.loan_id = originals.loan_id

),

{#- null-safe: a value that reverses to null where the original had one is a difference too
    (a plain `not (a = b or both null)` is null, so never true, when only one side is null) #}
{%- set differs = 'not (coalesce(reversed_{0} = original_{0}, false)'
    ~ ' or (reversed_{0} is null and original_{0} is null))' %}

-- one pass finds the loans with any difference (none, when all is well)...
mismatched as (

    select * from compared
    where
        false
        {%- for name, got, expected in pairs %}
        or {{ differs.format(name) }}
        {%- endfor %}

),

-- ...and only those are unfolded into one row per loan and column
checks as (

    {%- for name, got, expected in pairs %}
    select
        loan_id,
        '{{ name }}' as column_name,
        cast(reversed_{{ name }} as {{ text }}) as reversed_value,
        cast(original_{{ name }} as {{ text }}) as original_value
    from mismatched
    where {{ differs.format(name) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select * from checks
