{#- Spark SQL versions of the project's adapter.dispatch macros (macros/cross_db/). Each
    gives the same answer as its default__ (PostgreSQL) twin on the same text, so one model
    serves both engines. dbt-spark runs with ANSI mode off: bad casts give null, and double
    quotes make string literals (identifiers go through adapter.quote, i.e. back-ticks). -#}

{#- '14 August 2014' -> date. The shape is checked first, as on PostgreSQL; Spark's parser
    is case-insensitive and, with timeParserPolicy CORRECTED (profiles.yml), gives null for
    a day the month does not have ('31 February 2014') instead of rolling it over. -#}
{% macro spark__try_parse_long_date(expr) -%}
    case
        when {{ expr }} rlike '(?i)^[0-9]{1,2} (january|february|march|april|may|june|july|august|september|october|november|december) [0-9]{4}$'
            then to_date({{ expr }}, 'd MMMM yyyy')
    end
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
    datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}

{#- The same regular expressions as PostgreSQL's (backslashes doubled: Spark string literals
    unescape them), so exactly the same texts count as numbers on both engines. -#}
{% macro spark__try_cast_double(expr) -%}
    case
        when {{ expr }} rlike '^\\s*[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$'
            then cast(trim({{ expr }}) as double)
    end
{%- endmacro %}

{% macro spark__try_cast_bigint(expr) -%}
    case
        when {{ expr }} rlike '^\\s*[-+]?[0-9]{1,18}(\\.0*)?\\s*$'
            then cast(cast(trim({{ expr }}) as decimal(38, 0)) as bigint)
    end
{%- endmacro %}

{% macro spark__percentile_cont(expr, fraction) -%}
    percentile({{ expr }}, {{ fraction }})
{%- endmacro %}

{#- JSON: a message value is parsed once into a map of key -> value text (numbers and
    booleans as their JSON text, like PostgreSQL's ->>); only a JSON object parses
    (json_object_keys is null for anything else). Duplicate keys: the last wins, as in
    jsonb (spark.sql.mapKeyDedupPolicy=LAST_WIN in profiles.yml). -#}
{% macro spark__json_parse(expr) -%}
    case
        when json_object_keys({{ expr }}) is not null
            then from_json({{ expr }}, 'map<string, string>')
    end
{%- endmacro %}

{% macro spark__json_get_text(parsed, key) -%}
    element_at({{ parsed }}, '{{ key }}')
{%- endmacro %}

{% macro spark__json_has_key(parsed, key) -%}
    map_contains_key({{ parsed }}, '{{ key }}')
{%- endmacro %}

{#- PostgreSQL needs a helper function for safe JSON parsing; Spark's functions are safe already. -#}
{% macro spark__create_sql_helpers() -%}
    select 1
{%- endmacro %}

{#- Enforced contracts and unit-test fixtures cast to the types the YAML declares, which are
    PostgreSQL's names (text, double precision): Spark gets its own names for them. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ lendflow_spark_type(type) }})
{%- endmacro %}
