{#- Every loan's current version (dbt_valid_to null) holds the fields the snapshot tracks as
    fct_loans has them now. Checks the loans the latest build of fct_loans wrote (every loan
    with `--vars '{test_all_rows: true}'`; macros/tests/latest_build.sql). -#}
{{ config(enabled=target.type == 'postgres', tags=['periodic']) }}

{#- the tracked fields: the snapshot's check_cols, declared once in snapshots/_snapshots.yml -#}
{%- set tracked = [] -%}
{%- for node in graph.nodes.values() if execute and node.resource_type == 'snapshot' and node.name == 'loan_history' -%}
{%- do tracked.extend(node.config.check_cols) -%}
{%- endfor %}

with

fct_loans as (

    select * from {{ ref('fct_loans') }}
    where {{ latest_build_condition('dbt_updated_at', ref('fct_loans')) }}

),

loan_history as (

    select * from {{ ref('loan_history') }}
    where dbt_valid_to is null

),

final as (

    select fct_loans.loan_id
    from fct_loans
    left join loan_history
        on fct_loans.loan_id = loan_history.loan_id
    where
        loan_history.loan_id is null
        {%- for column in tracked %}
        or fct_loans.{{ column }} is distinct from loan_history.{{ column }}
        {%- endfor %}

)

select * from final
