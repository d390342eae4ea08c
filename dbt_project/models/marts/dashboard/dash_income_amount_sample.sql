{#- Portfolio question 2: loan amount against annual income, coloured by loan status.

    A scatter of every loan stops being readable (and fast) long before 1,000,000 points, so
    the dashboard draws a bounded, deterministic sample: the first N loans of each state and
    of the whole portfolio in the order of a hash of loan_id. The hash spreads loans evenly
    (no bias by id or date) and gives the same sample on every build of the same data: Knuth's
    multiplicative hash, in integers on every engine.

    Only the loans that can be in the sample are ranked (ranking all of them cost seconds at a
    million loans): those whose hash falls below twice the share of its state the sample needs.
    A state with fewer such loans than it needs (not expected: the hash spreads ids evenly) has
    all its loans ranked, so the sample is exact either way. The whole portfolio's first N are
    among its states' first N, so the same candidates serve it.

    Each state's rows and the all-states rows are stored under `sample_scope`, so one
    indexed lookup serves any choice of the state filter. -#}
{{ config(indexes=[{'columns': ['sample_scope']}], tags=['periodic']) }}

{%- set points_per_state = var('dash_scatter_points_per_state', 2000) %}
{%- set points_overall = var('dash_scatter_points_overall', 2000) %}
{%- set candidates_needed = [points_per_state, points_overall] | max %}
{#- the id's low 31 bits first: any id up to the declared 18 digits, times the multiplier,
    stays inside a bigint (the same order as before for every id below 2**31) -#}
{%- set spread = 'mod(mod(loan_id, 2147483648) * 2654435761, 4294967296)' %}

with

-- read three times (counts, candidates, the fallback below): each a plain scan, cheaper than
-- storing a million rows once
fct_loans as {{ inlined_cte() }} (

    select
        loan_id,
        addr_state,
        annual_inc,
        loan_amount,
        loan_status,
        {{ spread }} as spread

    from {{ ref('fct_loans') }}
    where annual_inc is not null and loan_amount is not null

),

states as (

    select
        addr_state,
        count(*) as loans_in_state,
        -- the hash below which twice the needed loans are expected
        cast(4294967296 * least(1.0, 2.0 * {{ candidates_needed }} / count(*)) as bigint) as spread_limit

    from fct_loans
    group by addr_state

),

below_limit as (

    select fct_loans.*
    from fct_loans
    inner join states
        on fct_loans.addr_state = states.addr_state
    where fct_loans.spread < states.spread_limit

),

-- states where fewer loans than needed fall below the limit: all their loans are candidates
short_states as (

    select states.addr_state
    from states
    left join below_limit
        on states.addr_state = below_limit.addr_state
    group by states.addr_state, states.loans_in_state
    having count(below_limit.loan_id) < least({{ candidates_needed }}, states.loans_in_state)

),

candidates as (

    select * from below_limit

    union all

    select fct_loans.*
    from fct_loans
    inner join short_states
        on fct_loans.addr_state = short_states.addr_state
    inner join states
        on fct_loans.addr_state = states.addr_state
    where fct_loans.spread >= states.spread_limit

),

ranked as (

    select
        loan_id,
        addr_state,
        annual_inc,
        loan_amount,
        loan_status,
        row_number() over (partition by addr_state order by spread, loan_id) as rank_in_state,
        row_number() over (order by spread, loan_id) as rank_overall

    from candidates

),

counts as (

    select
        addr_state,
        loans_in_state,
        cast(sum(loans_in_state) over () as bigint) as loans_overall

    from states

),

per_state as (

    select
        ranked.addr_state as sample_scope,
        ranked.loan_id,
        ranked.addr_state,
        ranked.annual_inc,
        ranked.loan_amount,
        ranked.loan_status,
        counts.loans_in_state as loans_in_scope

    from ranked
    inner join counts
        on ranked.addr_state = counts.addr_state
    where ranked.rank_in_state <= {{ points_per_state }}

),

overall as (

    select
        'ALL' as sample_scope,
        ranked.loan_id,
        ranked.addr_state,
        ranked.annual_inc,
        ranked.loan_amount,
        ranked.loan_status,
        counts.loans_overall as loans_in_scope

    from ranked
    inner join counts
        on ranked.addr_state = counts.addr_state
    where ranked.rank_overall <= {{ points_overall }}

),

final as (

    select * from per_state
    union all
    select * from overall

)

select * from final
