{#- Lag features: the previous loan's issue date and amount within the same letter grade,
    and within the same state + letter grade. "Previous" follows issue date, then loan_id,
    since many loans share a date; the first loan of a group has none (null).

    Incremental: the loans deduplicated again in this run ("touched") are placed among the
    loans already here, and the rows merged are the touched loans plus the loans whose
    previous loan changed (the successors of the places a touched loan takes or leaves).
    Two ways, with the same answer: on PostgreSQL, when few loans are touched, index lookups
    find each one's neighbours; otherwise a window runs over the narrow keys of every loan
    and carries each stored lag beside the new one, which finds the successors in the same
    pass. Only those rows are read whole. dbt_updated_at tells fct_loans which rows this
    run wrote. -#}
-- depends_on: {{ ref('int_loans_deduplicated') }}
{#- The last two indexes serve the neighbour lookups of an incremental run (PostgreSQL). -#}
{{
    config(
        materialized='incremental',
        unique_key='loan_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        pre_hook="{{ prefer_parallel_plans() }}",
        indexes=[
            {'columns': ['loan_id'], 'unique': True},
            {'columns': ['dbt_updated_at']},
            {'columns': ['letter_grade', 'issue_date', 'loan_id']},
            {'columns': ['addr_state', 'letter_grade', 'issue_date', 'loan_id']},
        ],
    )
}}

{%- set lag_columns = lag_column_names() %}
{%- set key_columns = ['loan_id', 'letter_grade', 'addr_state', 'issue_date', 'loan_amount'] %}

with

int_loans_encoded as (

    select * from {{ ref('int_loans_encoded') }}

),

-- only the columns fct_loans publishes are stored (macros/loans/published_loan_columns.sql)
published as (

    select
        {{ published_loan_columns() }}

    from int_loans_encoded

),

{% if is_incremental() %}

{%- set since = watermark_literal('dbt_ranked_at', this) %}

touched as (

    -- a constant condition on a column of the deduplicated table: pushed down through the views
    select * from published
    where dbt_ranked_at > {{ since }}

),

{%- set kept_columns = adapter.get_columns_in_relation(this) | map(attribute='name')
    | reject('in', lag_columns + ['dbt_updated_at']) | list %}

{#- A table built by a version that stored other columns (an upgrade): the rows below line up
    by position, so merging into it would fail on a column count or, worse, write values under
    another column's name. Stop, and say what to do. -#}
{%- if execute %}
{%- set publishes = get_columns_in_query("select " ~ published_loan_columns() ~ " from " ~ ref('int_loans_encoded')) %}
{%- if kept_columns | map('lower') | list != publishes | map('lower') | list %}
{{- exceptions.raise_compiler_error(
    this ~ " holds the columns of another version of this model (it stores " ~ (kept_columns | join(', '))
    ~ "; this version stores " ~ (publishes | join(', ')) ~ "). Rebuild it once:"
    ~ " `lendflow dbt build --full-refresh` (README: Upgrading an existing warehouse).") }}
{%- endif %}
{%- endif %}

{#- How many loans this run touches, against how many are here (the statistics' count will
    do for a 5% threshold; counting a million rows took ~0.2 s). -#}
{%- set counts = {'touched': 0, 'stored': 0} %}
{%- if execute and lag_by_index_lookups() %}
{%- do counts.update({
    'touched': run_query("select count(*) from " ~ ref('int_loans_deduplicated') ~ " where dbt_ranked_at > " ~ since).columns[0].values()[0],
    'stored': estimated_row_count(this),
}) %}
{%- endif %}

{% if lag_by_index_lookups() and counts.touched * 20 < counts.stored %}

{#- PostgreSQL, when a run touches under 5% of the loans: each touched loan's neighbours are
    found by index lookups in this table (on its group, issue date, loan_id), and a window
    over those few rows gives the lags, so a run costs in proportion to the loans it touches.
    A lookup steps over touched loans one by one, so when many loans are touched (a newer
    copy of a whole file) the window over every loan's keys below is the cheaper way. -#}
{%- set orderings = lag_orderings() %}
{%- set untouched = "not exists (select 1 from " ~ ref('int_loans_deduplicated') ~ " as redone"
    ~ " where redone.loan_id = untouched.loan_id and redone.dbt_ranked_at > " ~ since ~ ")" %}

-- the places touched loans held before this run (an update can move a loan)
left_places as (

    select {{ key_columns | join(', ') }} from {{ this }} as existing
    where exists (select 1 from touched where touched.loan_id = existing.loan_id)

),

{%- for name, partition in orderings.items() %}
{%- set same_group = [] %}
{%- for column in partition %}{% do same_group.append('untouched.' ~ column ~ ' = place.' ~ column) %}{% endfor %}

-- the untouched loan right after each place a touched loan takes or leaves: its previous
-- loan within the {{ name | replace('_', ' + ') }} may change
{{ name }}_next as (

    select distinct following.loan_id
    from (
        select {{ key_columns | join(', ') }} from touched
        union all
        select {{ key_columns | join(', ') }} from left_places
    ) as place
    cross join lateral (
        select untouched.loan_id
        from {{ this }} as untouched
        where {{ same_group | join(' and ') }}
            and (untouched.issue_date, untouched.loan_id) > (place.issue_date, place.loan_id)
            and {{ untouched }}
        order by untouched.issue_date, untouched.loan_id
        limit 1
    ) as following

),

-- the loans whose lags within the {{ name | replace('_', ' + ') }} this run computes
{{ name }}_targets as (

    select {{ key_columns | join(', ') }} from touched
    union all
    select {% for column in key_columns %}untouched.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ this }} as untouched
    inner join {{ name }}_next on untouched.loan_id = {{ name }}_next.loan_id

),

-- the targets and the untouched loan right before each: every touched loan is among them, so
-- a window over these few rows finds each target's previous loan
{{ name }}_context as (

    select {{ key_columns | join(', ') }} from {{ name }}_targets
    union
    select {% for column in key_columns %}preceding.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ name }}_targets as place
    cross join lateral (
        select {{ key_columns | join(', ') }}
        from {{ this }} as untouched
        where {{ same_group | join(' and ') }}
            and (untouched.issue_date, untouched.loan_id) < (place.issue_date, place.loan_id)
            and {{ untouched }}
        order by untouched.issue_date desc, untouched.loan_id desc
        limit 1
    ) as preceding

),

{{ name }}_lags as (

    select
        loan_id,
        {{ lag_columns_of(name, 'ordered') }}

    from {{ name }}_context
    window ordered as {{ lag_window(partition) }}

),
{%- endfor %}

changed as (

    select
        touched.*,
        {%- for name in orderings %}
        {{ name }}_lags.prev_issue_date_in_{{ name }},
        {{ name }}_lags.prev_loan_amount_in_{{ name }}{{ ',' if not loop.last }}
        {%- endfor %}

    from touched
    {%- for name in orderings %}
    inner join {{ name }}_lags on touched.loan_id = {{ name }}_lags.loan_id
    {%- endfor %}

    union all

    -- an untouched loan after a touched one: new lags where it follows one, stored lags else
    select
        {%- for column in kept_columns %}
        existing.{{ adapter.quote(column) }},
        {%- endfor %}
        {%- for name in orderings %}
        case when {{ name }}_next_ids.loan_id is null then existing.prev_issue_date_in_{{ name }}
            else {{ name }}_lags.prev_issue_date_in_{{ name }} end as prev_issue_date_in_{{ name }},
        case when {{ name }}_next_ids.loan_id is null then existing.prev_loan_amount_in_{{ name }}
            else {{ name }}_lags.prev_loan_amount_in_{{ name }} end as prev_loan_amount_in_{{ name }}
            {{- ',' if not loop.last }}
        {%- endfor %}

    from {{ this }} as existing
    inner join (
        {%- for name in orderings %}
        select loan_id from {{ name }}_next{{ ' union' if not loop.last }}
        {%- endfor %}
    ) as next_ids
        on existing.loan_id = next_ids.loan_id
    {%- for name in orderings %}
    left join {{ name }}_next as {{ name }}_next_ids on existing.loan_id = {{ name }}_next_ids.loan_id
    left join {{ name }}_lags on existing.loan_id = {{ name }}_lags.loan_id
    {%- endfor %}

),

{% else %}

-- every loan's narrow keys after this run: the loans already here that this run does not
-- touch, with the lags they have, and the touched loans.
-- `not exists`, never `not in (select ...)`: an anti join whatever the row estimates (PostgreSQL
-- runs a NOT IN it expects to be large as a subquery per row: hours at a million loans)
keys as (

    select
        {{ key_columns | join(', ') }},
        {%- for column in lag_columns %}
        {{ column }} as stored_{{ column }},
        {%- endfor %}
        false as is_touched

    from {{ this }} as existing
    where not exists (select 1 from touched where touched.loan_id = existing.loan_id)

    union all

    select
        {{ key_columns | join(', ') }},
        {%- for column in lag_columns %}
        null as stored_{{ column }},
        {%- endfor %}
        true as is_touched

    from touched

),

lagged_keys as (

    select
        keys.*,
        {{ lag_feature_columns() }}

    from keys
    {{ lag_feature_windows() }}

),

-- the loans this run writes: the touched ones, and those whose previous loan changed (the
-- successors of a touched loan's new place or of the place it left). Narrow rows only: the
-- wide rows join these few afterwards.
rewritten as (

    select * from lagged_keys
    where
        is_touched
        {%- for column in lag_columns %}
        or stored_{{ column }} is distinct from {{ column }}
        {%- endfor %}

),

changed as (

    select
        touched.*,
        {%- for column in lag_columns %}
        rewritten.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from touched
    inner join rewritten
        on touched.loan_id = rewritten.loan_id

    union all

    select
        {%- for column in kept_columns %}
        existing.{{ adapter.quote(column) }},
        {%- endfor %}
        {%- for column in lag_columns %}
        rewritten.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from {{ this }} as existing
    inner join rewritten
        on existing.loan_id = rewritten.loan_id
    where not rewritten.is_touched

),

{% endif %}

{% else %}

-- a full build: the windows sort the narrow keys of every loan, and the wide rows join the
-- lags afterwards (sorting the wide rows themselves spilled ~800 MB to disk per window at a
-- million loans). The keys are read where they are made, from int_loans_banded: imputation,
-- caps and encodings change none of them, and reading the keys through those views took
-- twice as long (3.4 s against 1.7 s at a million loans)
int_loans_banded as (

    select * from {{ ref('int_loans_banded') }}

),

lags as (

    select
        loan_id,
        {{ lag_feature_columns() }}

    from int_loans_banded
    {{ lag_feature_windows() }}

),

changed as (

    select
        published.*,
        {%- for column in lag_columns %}
        lags.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from published
    inner join lags
        on published.loan_id = lags.loan_id

),

{% endif %}

final as (

    select
        changed.*,
        {{ run_timestamp() }} as dbt_updated_at

    from changed

)

select * from final
