{#- The aggregate marts are kept per group (a grade, a state, a month...) in small incremental
    tables (models/intermediate/aggregates). int_loan_contributions holds, for each loan that
    fct_loans wrote, what it contributes to them now and what it contributed at the build before;
    a table's incremental run adds the new contributions of the loans written since its own last
    build and takes back their previous ones, so it costs what the batch changed. A loan that
    moved (a later record changed its state, grade, month...) takes its old contribution out of
    the group it left and adds the new one to the group it joins. A full build sums every loan.

    The group columns int_loan_contributions keeps for each loan: every aggregate table groups by
    some of them. -#}
{% macro mart_group_keys() -%}
    {{ return(['addr_state', 'letter_grade', 'issue_year', 'issue_month', 'emp_length', 'income_band']) }}
{%- endmacro %}

{#- The columns of fct_loans the aggregate tables read besides the group keys. -#}
{% macro mart_contribution_columns() -%}
    {{ return([
        'state_name', 'record_source', 'is_defaulted', 'verification_status', 'loan_amount',
        'funded_amount', 'int_rate', 'issue_date', 'prev_issue_date_in_grade',
        'prev_loan_amount_in_state_grade', 'landed_at',
    ]) }}
{%- endmacro %}


{#- A table's rows per group (`keys`) from int_loan_contributions: the SELECT of an aggregate
    model. `measures`: a list of {'name': column, <kind>: expression}, in the table's column
    order after the keys, the kind one of
      count: rows where the expression is not null ('*': every row),
      sum:   sum of the expression, null when the count named by 'of' (default 'loans') is 0,
      min, max: its extreme,
      any:   one value of an expression constant within a group (a state's name);
    the first measure is {'name': 'loans', 'count': '*'}. `derived`: {column: expression} over a
    loan's contribution columns, computed before the measures; `where`: the loans counted.

    Three ways, chosen when the model runs:
    - full (a full build): every loan, every group;
    - delta (incremental): for the groups of the loans written since this table's last build,
      the stored row plus their new contributions minus their previous ones. A minimum or
      maximum whose value left the group and was not matched by a new one is recomputed from
      the group's loans (only those groups);
    - recompute (incremental, when a delta would be wrong): every group from every loan, groups
      left empty kept as null rows. That is the case when int_loan_contributions holds a previous
      contribution this table never counted (it missed a build), or was rebuilt after it.
    A group whose loans all left keeps a row of nulls (loans is null) so the merge overwrites
    its old totals; the published models skip such rows, and a later loan can fill it again. -#}
{% macro contribution_totals(keys, measures, derived={}, where='true') -%}
    {%- set contributions = ref('int_loan_contributions') -%}
    {%- set mode = contribution_mode(contributions) -%}
    {%- set columns = mart_group_keys() + mart_contribution_columns() -%}

    {%- if mode == 'delta' %}
    {%- set since = watermark_literal('dbt_updated_at', this) %}
    with

    changed as (

        select * from {{ contributions }}
        where dbt_updated_at > {{ since }}

    ),

    signed as (

        select {{ columns | join(', ') }}, 1 as sign
        from changed

        union all

        select
            {%- for column in columns %}
            previous_{{ column }} as {{ column }},
            {%- endfor %}
            -1 as sign
        from changed
        where previous_updated_at is not null

    ),

    deltas as (

        {{ signed_totals('signed', keys, measures, derived, where, removed=true) }}

    ),

    stored as (

        select * from {{ this }} as stored_rows
        where exists (
            select 1 from deltas
            where {{ same_group_condition(keys, 'deltas', 'stored_rows') }}
        )

    ),

    combined as (

        select
            {%- for key in keys %}
            deltas.{{ key }},
            {%- endfor %}
            {%- for measure in measures %}
            {{ combined_measure(measure) }} as {{ measure.name }},
            {%- endfor %}
            {{ extreme_lost(measures) }} as extreme_lost

        from deltas
        left join stored
            on {{ same_group_condition(keys, 'deltas', 'stored') }}

    ),

    lost_extremes as (

        select contributions.*, 1 as sign
        from {{ contributions }} as contributions
        where exists (
            select 1 from combined
            where combined.extreme_lost and {{ same_group_condition(keys, 'combined', 'contributions') }}
        )

    ),

    regrouped as (

        {{ signed_totals('lost_extremes', keys, measures, derived, where) }}

    ),

    final as (

        select
            {{ keys | join(', ') }},
            {%- for measure in measures %}
            case when loans > 0 then {{ measure.name }} end as {{ measure.name }},
            {%- endfor %}
            {{ run_timestamp() }} as dbt_updated_at
        from combined
        where not extreme_lost

        union all

        select
            {%- for key in keys %}
            combined.{{ key }},
            {%- endfor %}
            {%- for measure in measures %}
            regrouped.{{ measure.name }},
            {%- endfor %}
            {{ run_timestamp() }} as dbt_updated_at
        from combined
        left join regrouped
            on {{ same_group_condition(keys, 'combined', 'regrouped') }}
        where combined.extreme_lost

    )

    select * from final

    {%- else %}
    with

    loans as (

        select *, 1 as sign from {{ contributions }}

    ),

    totals as (

        {{ signed_totals('loans', keys, measures, derived, where) }}

    ),

    {%- if mode == 'recompute' %}

    groups as (

        select {{ keys | join(', ') }} from {{ this }}
        union
        select {{ keys | join(', ') }} from totals

    ),

    final as (

        select *, {{ run_timestamp() }} as dbt_updated_at
        from groups
        left join totals using ({{ keys | join(', ') }})

    )

    {%- else %}

    final as (

        select *, {{ run_timestamp() }} as dbt_updated_at
        from totals

    )

    {%- endif %}

    select * from final
    {%- endif %}
{%- endmacro %}


{#- 'full', 'delta' or 'recompute' (contribution_totals()), decided by two indexed reads of
    int_loan_contributions when the model runs. -#}
{% macro contribution_mode(contributions) -%}
    {%- if not is_incremental() -%}
        {{ return('full') }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return('delta') }}
    {%- endif -%}
    {%- set since = watermark_literal('dbt_updated_at', this) -%}
    {%- set uncounted = run_query(
        "select count(*) from (select loan_id from " ~ contributions ~ " where dbt_updated_at > " ~ since
        ~ " and previous_updated_at > " ~ since ~ ") as uncounted"
    ).columns[0].values()[0] -%}
    {%- set rebuilt = run_query(
        "select count(*) from (select min(dbt_updated_at) as oldest from " ~ contributions ~ ") as stamps"
        ~ " where oldest > " ~ since
    ).columns[0].values()[0] -%}
    {{ return('recompute' if uncounted > 0 or rebuilt > 0 else 'delta') }}
{%- endmacro %}


{#- The measures of the rows of `rows` (a CTE of contribution columns and `sign`: +1 for a
    contribution added, -1 for one taken back) per group. With `removed`, each min, max and
    any measure is taken over the added rows, and `<name>__removed` over the taken back ones. -#}
{% macro signed_totals(rows, keys, measures, derived, where, removed=false) -%}
    {%- set selected = keys | list -%}
    {%- for measure in measures -%}
        {%- do selected.append(signed_measure(measure, 'sign > 0' if removed else none) ~ ' as ' ~ measure.name) -%}
        {%- if removed and (measure.min or measure.max) -%}
            {%- do selected.append(signed_measure(measure, 'sign < 0') ~ ' as ' ~ measure.name ~ '__removed') -%}
        {%- endif -%}
    {%- endfor %}
    select
        {{ selected | join(', ') }}
    from (
        select *
            {%- for column, expression in derived.items() %},
            {{ expression }} as {{ column }}
            {%- endfor %}
        from {{ rows }}
    ) as contributions
    where {{ where }}
    group by {{ keys | join(', ') }}
{%- endmacro %}


{% macro signed_measure(measure, rows_with_sign=none) -%}
    {%- if measure.count == '*' -%}
        sum(sign)
    {%- elif measure.count -%}
        sum(case when {{ measure.count }} is not null then sign else 0 end)
    {%- elif measure.sum -%}
        sum(sign * {{ measure.sum }})
    {%- else -%}
        {%- set kind = 'min' if measure.min else 'max' -%}
        {%- set expression = measure.min or measure.max or measure.any -%}
        {{ kind }}({% if rows_with_sign %}case when {{ rows_with_sign }} then {{ expression }} end{% else %}{{ expression }}{% endif %})
    {%- endif -%}
{%- endmacro %}


{#- A measure of the stored row (`stored`) and the batch's deltas (`deltas`) combined. -#}
{% macro combined_measure(measure) -%}
    {%- set name = measure.name -%}
    {%- if measure.count -%}
        coalesce(stored.{{ name }}, 0) + deltas.{{ name }}
    {%- elif measure.sum -%}
        {%- set of = measure.of or 'loans' -%}
        case when coalesce(stored.{{ of }}, 0) + deltas.{{ of }} > 0
            then coalesce(stored.{{ name }}, 0) + coalesce(deltas.{{ name }}, 0) end
    {%- elif measure.min -%}
        case when stored.loans > 0 then least(stored.{{ name }}, coalesce(deltas.{{ name }}, stored.{{ name }}))
            else deltas.{{ name }} end
    {%- elif measure.max -%}
        case when stored.loans > 0 then greatest(stored.{{ name }}, coalesce(deltas.{{ name }}, stored.{{ name }}))
            else deltas.{{ name }} end
    {%- else -%}
        case when stored.loans > 0 then coalesce(stored.{{ name }}, deltas.{{ name }}) else deltas.{{ name }} end
    {%- endif -%}
{%- endmacro %}


{#- Whether a group's stored minimum or maximum left it (a contribution taken back reached it)
    and no new contribution reached it again: the group is recomputed from its loans. -#}
{% macro extreme_lost(measures) -%}
    {%- set checks = [] -%}
    {%- for measure in measures if measure.min or measure.max -%}
        {%- set name = measure.name -%}
        {%- set beyond = '<=' if measure.min else '>=' -%}
        {%- do checks.append(
            '(deltas.' ~ name ~ '__removed ' ~ beyond ~ ' stored.' ~ name
            ~ ' and not coalesce(deltas.' ~ name ~ ' ' ~ beyond ~ ' stored.' ~ name ~ ', false))'
        ) -%}
    {%- endfor -%}
    coalesce(stored.loans > 0 and ({{ checks | join(' or ') if checks else 'false' }}), false)
{%- endmacro %}


{#- CTEs `grouped_loans`: the rows of the CTE `loans` in the groups (columns `keys`) this run
    recomputes; every row in a full build. For a table that is not additive (quartiles): an
    incremental run reads int_loan_contributions (a model calling this macro declares it:
    `-- depends_on: {{ ref('int_loan_contributions') }}`) for `changed_groups`: the groups of the
    loans written there since this table was last written, where they are now and where they
    were. End the model with regrouped_totals(). -#}
{% macro regrouped_loans(loans, keys) -%}
{%- if is_incremental() %}
{%- set since = watermark_literal('dbt_updated_at', this) %}

int_loan_contributions as (

    select * from {{ ref('int_loan_contributions') }}

),

changed_groups as (

    select distinct {{ keys | join(', ') }}
    from (
        select {{ keys | join(', ') }}
        from int_loan_contributions
        where dbt_updated_at > {{ since }}

        union all

        select
            {%- for key in keys %}
            previous_{{ key }} as {{ key }}{{ ',' if not loop.last }}
            {%- endfor %}
        from int_loan_contributions
        where dbt_updated_at > {{ since }} and previous_updated_at is not null
    ) as current_and_previous

),

grouped_loans as (

    select {{ loans }}.*
    from {{ loans }}
    where exists (
        select 1 from changed_groups
        where {{ same_group_condition(keys, 'changed_groups', loans) }}
    )

),
{%- else %}

grouped_loans as (

    select * from {{ loans }}

),
{%- endif %}
{%- endmacro %}


{#- The rows a run writes: `totals` (the keys, then `loans` = count(*) and the other measures,
    grouped by the keys), stamped with the run. An incremental run writes every changed group:
    one left with no loans gets nulls (loans is null), so the merge overwrites its old totals. -#}
{% macro regrouped_totals(totals, keys) -%}
    {%- if is_incremental() %}
    select *, {{ run_timestamp() }} as dbt_updated_at
    from changed_groups
    left join {{ totals }} using ({{ keys | join(', ') }})
    {%- else %}
    select *, {{ run_timestamp() }} as dbt_updated_at
    from {{ totals }}
    {%- endif %}
{%- endmacro %}


{#- Rolling totals up to a coarser group: a count (a bigint on both engines: PostgreSQL's sum of
    bigints is numeric) and a mean from a sum and its count (null without values, as avg()). -#}
{% macro total_count(column) -%}
    cast(sum({{ column }}) as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro mean_of(total, count) -%}
    sum({{ total }}) / nullif({{ total_count(count) }}, 0)
{%- endmacro %}
