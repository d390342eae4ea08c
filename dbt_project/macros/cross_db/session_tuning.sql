{#- Per-model session settings, run as a pre-hook inside the model's transaction.
    PostgreSQL's default work_mem (4MB) makes the window sorts and hash joins over a million
    wide rows spill to disk; a larger one for the duration of a build keeps them in memory.
    Set it with `--vars '{pg_work_mem: 512MB}'`. Other engines: nothing (an empty hook is skipped). -#}
{% macro session_tuning() -%}
    {{ return(adapter.dispatch('session_tuning', 'lendflow')()) }}
{%- endmacro %}

{% macro default__session_tuning() -%}
    set local work_mem = '{{ var("pg_work_mem", "256MB") }}'
{%- endmacro %}

{% macro spark__session_tuning() -%}
{%- endmacro %}
