{#- Portfolio question 2: loan amount against annual income, coloured by loan status.

    A scatter of every loan stops being readable (and fast) long before 1,000,000 points, so
    the dashboard draws a bounded, deterministic sample: the first N loans of each state and
    of the whole portfolio in the order of a hash of loan_id. The hash spreads loans evenly
    (no bias by id or date) and gives the same sample on every build of the same data. It is
    Knuth's multiplicative hash, in integers on every engine: sorting a million integers is
    several times cheaper than sorting a million md5 strings.
    Each state's rows and the all-states rows are stored under `sample_scope`, so one
    indexed lookup serves any choice of the state filter. -#}
{{ config(indexes=[{'columns': ['sample_scope']}]) }}

{%- set points_per_state = var('dash_scatter_points_per_state', 2000) %}
{%- set points_overall = var('dash_scatter_points_overall', 2000) %}
{%- set spread = 'mod(loan_id * 2654435761, 4294967296)' %}

with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

ranked as (

    select
        loan_id,
        addr_state,
        annual_inc,
        loan_amount,
        loan_status,
        row_number() over (
            partition by addr_state order by {{ spread }}, loan_id
        ) as rank_in_state,
        row_number() over (order by {{ spread }}, loan_id) as rank_overall,
        count(*) over (partition by addr_state) as loans_in_state,
        count(*) over () as loans_overall

    from fct_loans
    where annual_inc is not null and loan_amount is not null

),

per_state as (

    select
        addr_state as sample_scope,
        loan_id,
        addr_state,
        annual_inc,
        loan_amount,
        loan_status,
        loans_in_state as loans_in_scope

    from ranked
    where rank_in_state <= {{ points_per_state }}

),

overall as (

    select
        'ALL' as sample_scope,
        loan_id,
        addr_state,
        annual_inc,
        loan_amount,
        loan_status,
        loans_overall as loans_in_scope

    from ranked
    where rank_overall <= {{ points_overall }}

),

final as (

    select * from per_state
    union all
    select * from overall

)

select * from final
