{#- What a version of a loan is, for the loan_history snapshot: its key, the fields a later
    record may change, and where the kept record came from.

    Only the loans fct_loans wrote since the snapshot last read it (fct_loans_updated_at): a
    snapshot compares each row it reads with the loan's current version, and a loan it does not
    read keeps that version (hard deletes are ignored), so reading every loan of a million on
    every build would find nothing more. On the snapshot's first run every loan is read.
    The snapshot is addressed by name, not ref(): it is built from this model. -#}
{{ config(materialized='ephemeral', enabled=target.type == 'postgres') }}

{%- set history = adapter.get_relation(database=target.database, schema='snapshots', identifier='loan_history') if execute else none %}

with

fct_loans as (

    select * from {{ ref('fct_loans') }}

),

final as (

    select
        loan_id,
        loan_status,
        is_defaulted,
        loan_amount,
        funded_amount,
        int_rate,
        installment,
        term_months,
        grade,
        letter_grade,
        verification_status,
        annual_inc,
        home_ownership,
        purpose,
        issue_date,
        addr_state,
        record_source,
        record_ref,
        landed_at,
        dbt_updated_at as fct_loans_updated_at

    from fct_loans
    {%- if history is not none %}
    where dbt_updated_at > {{ watermark_literal('fct_loans_updated_at', history) }}
    {%- endif %}

)

select * from final
