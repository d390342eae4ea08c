{#- The start of this dbt run as a timestamp: incremental models stamp the rows they write
    with it, and the next model picks up exactly the rows stamped after its own newest. -#}
{% macro run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- The newest stamp of a column in a relation, or the distant past when it is empty. -#}
{% macro watermark(column, relation) -%}
    coalesce((select max({{ column }}) from {{ relation }}), cast('1900-01-01' as timestamp))
{%- endmacro %}

{#- The same, read when the model runs and written into its SQL as a literal: a constant
    condition the database can push down through views to the table scan (a subquery in a
    condition stops that, and the whole view chain would be computed for every row). -#}
{% macro watermark_literal(column, relation) -%}
    {%- set newest = none -%}
    {%- if execute -%}
        {%- set result = run_query("select cast(max(" ~ column ~ ") as " ~ dbt.type_string() ~ ") from " ~ relation) -%}
        {%- set newest = result.columns[0].values()[0] -%}
    {%- endif -%}
    cast('{{ newest if newest else "1900-01-01 00:00:00" }}' as timestamp)
{%- endmacro %}

{#- The checksums of the landed files (raw.landed_files: landing writes a file's ledger row in
    the transaction of its rows) that `relation` holds no row of yet, read when the model runs.
    The ledger holds a row per file, so this costs an index probe per file instead of a scan of
    every row already read. -#}
{% macro unread_files(relation, checksum_column) -%}
    {%- set ledger = ref('stg_raw__landed_files') -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- set result = run_query(
            "select ledger.file_sha256 from " ~ ledger ~ " as ledger where not exists (select 1 from "
            ~ relation ~ " as done where done." ~ checksum_column ~ " = ledger.file_sha256)"
        ) -%}
        {%- set found = result.columns[0].values() | list -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}
