{#- The rows an incremental run of int_loans_lagged writes, as one query (a nested `with`):
    the loans in the CTE named `touched` (their lag keys, lag_key_columns(), after this run)
    and the untouched loans whose previous loan changed (the successors of the places a
    touched loan takes or leaves), each with its lag keys and lags. Every other loan keeps
    its lags: they did not change. Two ways, with the same answer as a window over every loan:

    - by index lookups (lag_rows_by_index_lookups): each touched loan's neighbours are found
      in int_loans_lagged's indexes; the run costs in proportion to the touched loans;
    - by a window over every loan's keys (lag_rows_by_window), beside the stored lags.

    PostgreSQL looks up while a run touches under 5% of the loans: a lookup steps over touched
    loans one by one, so when many are touched (a newer copy of a whole file) the window is the
    cheaper way. Spark has no indexes and no LIMIT in a correlated subquery: always the window.
    `since` is the watermark literal that selected the touched loans from `deduplicated`
    (int_loans_deduplicated, which holds each loan's dbt_ranked_at). -#}
{% macro incremental_lag_rows(touched, deduplicated, since) -%}
    {{ return(adapter.dispatch('incremental_lag_rows', 'lendflow')(touched, deduplicated, since)) }}
{%- endmacro %}

{% macro default__incremental_lag_rows(touched, deduplicated, since) -%}
    {%- set sizes = {'touched': 0, 'stored': 0} -%}
    {%- if execute -%}
        {#- the statistics' row count will do for a threshold, and spares counting every loan -#}
        {%- do sizes.update({
            'touched': run_query("select count(*) from " ~ deduplicated ~ " where dbt_ranked_at > " ~ since).columns[0].values()[0],
            'stored': estimated_row_count(this),
        }) -%}
    {%- endif -%}
    {%- if sizes.touched * 20 < sizes.stored -%}
        {{ return(lag_rows_by_index_lookups(touched, deduplicated, since)) }}
    {%- else -%}
        {{ return(lag_rows_by_window(touched)) }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__incremental_lag_rows(touched, deduplicated, since) -%}
    {{ return(lag_rows_by_window(touched)) }}
{%- endmacro %}


{#- Index lookups (PostgreSQL: lateral joins, row comparisons, and int_loans_lagged's indexes
    on each group's (partition, issue_date, loan_id)). For each group: the untouched loan right
    after each place a touched loan takes or leaves ("next": its previous loan may change), the
    loans whose lags are computed ("targets": the touched and the next), and the untouched loan
    right before each target ("context"); a window over those few rows gives each target's lags.
    A next loan keeps its stored lags in a group where it is no target. -#}
{% macro lag_rows_by_index_lookups(touched, deduplicated, since) -%}
{%- set keys = lag_key_columns() -%}
{%- set lag_columns = lag_column_names() -%}
{%- set orderings = lag_orderings() -%}
{#- a stored row of a touched loan holds its old place: never a neighbour -#}
{%- set untouched = "not exists (select 1 from " ~ deduplicated ~ " as redone"
    ~ " where redone.loan_id = untouched.loan_id and redone.dbt_ranked_at > " ~ since ~ ")" -%}
with

-- the places touched loans held before this run (an update can move a loan)
left_places as (

    select {{ qualified_columns('existing', keys) }}
    from {{ this }} as existing
    where exists (select 1 from {{ touched }} where {{ touched }}.loan_id = existing.loan_id)

),

places as (

    select {{ keys | join(', ') }} from {{ touched }}
    union all
    select {{ keys | join(', ') }} from left_places

),

{%- for name, partition in orderings.items() %}

{{ name }}_next as (

    select distinct following.loan_id
    from places as place
    cross join lateral (
        select untouched.loan_id
        from {{ this }} as untouched
        where {{ same_group_condition(partition, 'untouched', 'place') }}
            and (untouched.issue_date, untouched.loan_id) > (place.issue_date, place.loan_id)
            and {{ untouched }}
        order by untouched.issue_date, untouched.loan_id
        limit 1
    ) as following

),
{%- endfor %}

-- the next loans of every group, as stored
next_loans as (

    select {{ qualified_columns('existing', keys + lag_columns) }}
    from {{ this }} as existing
    where existing.loan_id in (
        {%- for name in orderings %}
        select loan_id from {{ name }}_next{{ ' union' if not loop.last }}
        {%- endfor %}
    )

),

{%- for name, partition in orderings.items() %}

{{ name }}_targets as (

    select {{ keys | join(', ') }} from {{ touched }}
    union all
    select {{ keys | join(', ') }} from next_loans
    where loan_id in (select loan_id from {{ name }}_next)

),

{{ name }}_context as (

    select {{ keys | join(', ') }} from {{ name }}_targets
    union
    select {{ qualified_columns('preceding', keys) }}
    from {{ name }}_targets as place
    cross join lateral (
        select {{ qualified_columns('untouched', keys) }}
        from {{ this }} as untouched
        where {{ same_group_condition(partition, 'untouched', 'place') }}
            and (untouched.issue_date, untouched.loan_id) < (place.issue_date, place.loan_id)
            and {{ untouched }}
        order by untouched.issue_date desc, untouched.loan_id desc
        limit 1
    ) as preceding

),

-- the targets' lags only: a context row's own previous loan is not in the context
{{ name }}_lags as (

    select *
    from (
        select
            loan_id,
            {{ lag_columns_of(name, 'ordered') }}
        from {{ name }}_context
        window ordered as {{ lag_window(partition) }}
    ) as context_lags
    where loan_id in (select loan_id from {{ name }}_targets)

),
{%- endfor %}

rewritten as (

    select
        {{ keys | join(', ') }},
        {%- for column in lag_columns %}
        null as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ touched }}
    union all
    select {{ (keys + lag_columns) | join(', ') }} from next_loans

)

select
    {{ qualified_columns('rewritten', keys) }},
    {%- for name in orderings %}
    {%- for column in ['prev_issue_date_in_' ~ name, 'prev_loan_amount_in_' ~ name] %}
    case when {{ name }}_lags.loan_id is null then rewritten.{{ column }} else {{ name }}_lags.{{ column }} end
        as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}{{ ',' if not loop.last }}
    {%- endfor %}
from rewritten
{%- for name in orderings %}
left join {{ name }}_lags on rewritten.loan_id = {{ name }}_lags.loan_id
{%- endfor %}
{%- endmacro %}

{#- `alias.column = other.column and ...` over a group's partition columns. -#}
{% macro same_group_condition(partition, alias, other) -%}
    {%- for column in partition %}{{ alias }}.{{ column }} = {{ other }}.{{ column }}{{ ' and ' if not loop.last }}{% endfor -%}
{%- endmacro %}


{#- A window over every loan's keys after this run (the untouched loans as stored, with their
    lags, and the touched loans), which finds the successors in the same pass: the rows written
    are the touched loans and those whose lags differ from the stored ones. -#}
{% macro lag_rows_by_window(touched) -%}
{%- set keys = lag_key_columns() -%}
{%- set lag_columns = lag_column_names() -%}
with

-- `not exists`, never `not in (select ...)`: an anti join whatever the row estimates (PostgreSQL
-- runs a NOT IN it expects to be large as a subquery per row: hours at a million loans)
every_loan as (

    select
        {{ qualified_columns('existing', keys) }},
        {%- for column in lag_columns %}
        existing.{{ column }} as stored_{{ column }},
        {%- endfor %}
        false as is_touched
    from {{ this }} as existing
    where not exists (select 1 from {{ touched }} where {{ touched }}.loan_id = existing.loan_id)

    union all

    select
        {{ keys | join(', ') }},
        {%- for column in lag_columns %}
        null as stored_{{ column }},
        {%- endfor %}
        true as is_touched
    from {{ touched }}

),

every_loan_lagged as (

    select
        every_loan.*,
        {{ lag_feature_columns() }}
    from every_loan
    {{ lag_feature_windows() }}

)

select {{ (keys + lag_columns) | join(', ') }}
from every_loan_lagged
where
    is_touched
    {%- for column in lag_columns %}
    or stored_{{ column }} is distinct from {{ column }}
    {%- endfor %}
{%- endmacro %}
