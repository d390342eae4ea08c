{#- Per-model session settings, run as a pre-hook inside the model's transaction.
    PostgreSQL's default work_mem (4MB) makes the window sorts and hash joins over a million
    wide rows spill to disk; a larger one for the duration of a build keeps them in memory.
    Set it with `--vars '{pg_work_mem: 512MB}'`. JIT is off for the same span: compiling these
    queries costs seconds each (their estimated costs are far above its thresholds) and saves
    less. Other engines: nothing (an empty hook is skipped). -#}
{% macro session_tuning() -%}
    {{ return(adapter.dispatch('session_tuning', 'lendflow')()) }}
{%- endmacro %}

{% macro default__session_tuning() -%}
    set local work_mem = '{{ var("pg_work_mem", "256MB") }}';
    set local jit = off
{%- endmacro %}

{% macro spark__session_tuning() -%}
{%- endmacro %}

{#- A post-hook: statistics for a table dbt just built, so the models after it in the same run
    plan with its real size. Without them PostgreSQL guesses (a never-analysed seed of seven
    rows counts as ~1,000) and a join or NOT IN it thinks large can get a plan that takes hours.
    Views have nothing to analyse; other engines: nothing. An incremental run analyses the
    columns that matter to the reads after it (analyzed_columns); so does every build with
    `key_columns_only`, for tables that are only ever read whole or by those columns. -#}
{% macro analyze_relation(key_columns_only=false) -%}
    {{ return(adapter.dispatch('analyze_relation', 'lendflow')(key_columns_only)) }}
{%- endmacro %}

{% macro default__analyze_relation(key_columns_only) -%}
    {%- set key_columns = analyzed_columns() -%}
    {%- if config.get('materialized') in ('view', 'ephemeral') -%}
    {%- elif (key_columns_only or is_incremental()) and key_columns -%}
        analyze {{ this }} ({{ key_columns | join(', ') }})
    {%- else -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- The columns a key-columns ANALYZE covers: those of the unique key and the indexes (the
    run stamps the next reads filter on, the keys they join on); ANALYZE updates the row count
    whatever the columns. After an incremental run the other columns' statistics are the full
    build's and change little with a run's share of new rows (autovacuum refreshes them once a
    tenth of the table has changed), and sampling every column of a wide table costs seconds
    per model at a million loans. -#}
{% macro analyzed_columns() -%}
    {%- set key = config.get('unique_key') -%}
    {%- set columns = [key] if key is string else (key or []) | list -%}
    {%- for index in config.get('indexes') or [] -%}
        {%- do columns.extend(index['columns']) -%}
    {%- endfor -%}
    {{ return(columns | unique | list) }}
{%- endmacro %}

{% macro spark__analyze_relation(key_columns_only) -%}
{%- endmacro %}

{#- A pre-hook for a model whose full build runs alone on the critical path, dbt's other
    thread idle: PostgreSQL reckons each row a parallel worker hands back at 0.1 of a
    sequential page read, so it gathers the rows of a million loans below the joins and sorts
    above them, which then run in one process. At 0.01 the joins below the gather and the
    first window's sort run in the workers too, which shortens the full build. An incremental
    run reads few rows and gains nothing; it keeps the default. Other engines: nothing. -#}
{% macro prefer_parallel_plans() -%}
    {{ return(adapter.dispatch('prefer_parallel_plans', 'lendflow')()) }}
{%- endmacro %}

{% macro default__prefer_parallel_plans() -%}
    {%- if not is_incremental() %}set local parallel_tuple_cost = 0.01{% endif %}
{%- endmacro %}

{% macro spark__prefer_parallel_plans() -%}
{%- endmacro %}
