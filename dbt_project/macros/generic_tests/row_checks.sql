{#- Row-by-row checks of many columns in one pass: `not_null` (a list of columns) and
    `accepted_values` (column: list of values; a null passes, as in dbt's accepted_values).
    A failing row comes back with its key and the checks it failed.

    Why not one dbt test per column: each of those reads the whole table, and forty reads of
    a wide table of a million loans would stand in front of every model downstream. -#}
{% test row_checks(model, key, not_null=[], accepted_values={}) %}

{%- set checks = [] -%}
{%- for column in not_null -%}
    {%- do checks.append("case when " ~ column ~ " is null then '" ~ column ~ " is null' end") -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set literals = [] -%}
    {%- for value in values -%}
        {%- do literals.append("'" ~ value | replace("'", "''") ~ "'" if value is string else value | string) -%}
    {%- endfor -%}
    {%- do checks.append("case when " ~ column ~ " not in (" ~ literals | join(", ") ~ ") then '"
                         ~ column ~ " not accepted' end") -%}
{%- endfor -%}
{%- if checks | length > 99 -%}
    {#- PostgreSQL passes at most 100 arguments to a function (concat_ws) -#}
    {{ exceptions.raise_compiler_error("row_checks: " ~ checks | length ~ " checks; split them into tests of at most 99") }}
{%- endif %}

with

checked as (

    select
        {{ key }},
        concat_ws(', ',
            {{ checks | join(",\n            ") }}
        ) as failed_checks

    from {{ model }}

)

select * from checked
where failed_checks <> ''

{% endtest %}
