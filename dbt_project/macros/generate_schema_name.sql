{#- Models land in the schema they name (staging, intermediate, marts), not
    <target_schema>_<name>: the dashboard and the roles address marts by that name. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
