{#- on-run-end: one row per dbt invocation in marts.dash_dbt_runs, so the dashboard's data
    quality page can show the last run and its status (it reads marts only, never dbt's
    target/ folder, which may sit on another machine). PostgreSQL only: the dashboard reads
    PostgreSQL; on other targets this renders nothing. -#}
{% macro record_dbt_run(results) %}
    {%- if not execute or target.type != 'postgres' or flags.WHICH not in ['build', 'run', 'test', 'seed', 'snapshot'] -%}
        {{ return('') }}
    {%- endif -%}
    {#- The schema is dbt's to create (the role running dbt may not create schemas): before
        the first mart exists there is nowhere to record, and nothing for the dashboard to show. -#}
    {%- if not adapter.check_schema_exists(target.database, 'marts') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set statuses = results | map(attribute='status') | map('string') | list -%}
    {%- set errors = statuses | select('in', ['error', 'runtime error', 'RunStatus.Error', 'TestStatus.Error']) | list | length -%}
    {%- set failures = statuses | select('in', ['fail', 'TestStatus.Fail']) | list | length -%}
    {%- set warnings = statuses | select('in', ['warn', 'TestStatus.Warn']) | list | length -%}
    {%- set skipped = statuses | select('in', ['skipped', 'RunStatus.Skipped']) | list | length -%}
    {%- set status = 'error' if errors + failures > 0 else ('warn' if warnings > 0 else 'success') -%}
    create table if not exists marts.dash_dbt_runs (
        invocation_id text primary key,
        command       text not null,
        started_at    timestamptz not null,
        finished_at   timestamptz not null,
        status        text not null,
        nodes         integer not null,
        errors        integer not null,
        failures      integer not null,
        warnings      integer not null,
        skipped       integer not null
    );
    insert into marts.dash_dbt_runs
        (invocation_id, command, started_at, finished_at, status, nodes, errors, failures, warnings, skipped)
    values (
        '{{ invocation_id }}',
        '{{ flags.WHICH }}',
        '{{ run_started_at.isoformat() }}',
        clock_timestamp(),
        '{{ status }}',
        {{ results | length }},
        {{ errors }},
        {{ failures }},
        {{ warnings }},
        {{ skipped }}
    )
    on conflict (invocation_id) do nothing
{%- endmacro %}
