{#- The aggregate marts are kept per group (a grade, a state, a month...) in small incremental
    tables (models/intermediate/aggregates): a run recomputes only the groups whose loans
    changed since the table was last written, from the loans fct_loans holds now. A loan that
    moved (a later record changed its state, grade, month...) changes two groups: the one it
    joins, in fct_loans, and the one it left, in int_loan_group_keys (each changed loan's keys
    beside those it had at the build before). A full build computes every group.

    The group columns int_loan_group_keys keeps for each loan: every aggregate table groups by
    some of them. -#}
{% macro mart_group_keys() -%}
    {{ return(['addr_state', 'letter_grade', 'issue_year', 'issue_month', 'emp_length', 'income_band']) }}
{%- endmacro %}


{#- CTEs `grouped_loans`: the rows of the CTE `loans` in the groups (columns `keys`) this run
    recomputes; every row in a full build. An incremental run reads int_loan_group_keys (a model
    calling this macro declares it: `-- depends_on: {{ ref('int_loan_group_keys') }}`) for
    `changed_groups`: the groups of the loans written there since this table was last written,
    where they are now and where they were. End the model with regrouped_totals(). -#}
{% macro regrouped_loans(loans, keys) -%}
{%- if is_incremental() %}
{%- set since = watermark_literal('dbt_updated_at', this) %}
{%- set group_keys = 'int_loan_group_keys' %}

int_loan_group_keys as (

    select * from {{ ref('int_loan_group_keys') }}

),

changed_groups as (

    select distinct {{ keys | join(', ') }}
    from (
        select {{ keys | join(', ') }}
        from {{ group_keys }}
        where dbt_updated_at > {{ since }}

        union all

        select
            {%- for key in keys %}
            previous_{{ key }} as {{ key }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ group_keys }}
        where dbt_updated_at > {{ since }}
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
    one left with no loans gets nulls (loans is null), so the merge overwrites its old totals;
    the published models skip such rows, and a later loan can fill the group again. -#}
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
