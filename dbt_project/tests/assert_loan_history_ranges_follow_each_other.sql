{#- The versions of a loan follow each other without gap or overlap: each one ends where the
    next begins, ends after it began, and only the last is open (dbt_valid_to null).
    Checks the loans the latest snapshot run gave a new version (every loan with
    `--vars '{test_all_rows: true}'`; macros/tests/latest_build.sql). -#}
{{ config(enabled=target.type == 'postgres', tags=['periodic']) }}

with

loan_history as (

    select * from {{ ref('loan_history') }}

),

changed_loans as (

    select loan_id from loan_history
    where
        dbt_valid_to is null
        and {{ latest_build_condition('dbt_updated_at', ref('loan_history')) }}

),

versions as (

    select
        loan_id,
        dbt_valid_from,
        dbt_valid_to,
        lead(dbt_valid_from) over (partition by loan_id order by dbt_valid_from) as next_valid_from

    from loan_history
    where loan_id in (select changed_loans.loan_id from changed_loans)

),

final as (

    select * from versions
    where
        dbt_valid_to is distinct from next_valid_from
        or dbt_valid_to <= dbt_valid_from

)

select * from final
