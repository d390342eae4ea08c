{#- Spark SQL versions of the project's adapter.dispatch macros (macros/cross_db/). Each
    gives the same answer as its default__ (PostgreSQL) twin on the same text, so one model
    serves both engines. dbt-spark runs with ANSI mode off: bad casts give null, and double
    quotes make string literals (identifiers go through adapter.quote, i.e. back-ticks). -#}

{#- '14 August 2014' -> date. The shape is checked first, as on PostgreSQL; Spark's parser
    is case-insensitive and, with timeParserPolicy CORRECTED (profiles.yml), gives null for
    a day the month does not have ('31 February 2014') instead of rolling it over. A year
    outside the declared issue_year range is no date either, on both engines. -#}
{% macro spark__try_parse_long_date(expr) -%}
    case
        when {{ expr }} rlike '(?i)^[0-9]{1,2} (january|february|march|april|may|june|july|august|september|october|november|december) [0-9]{4}\\z'
            and cast(substring_index({{ expr }}, ' ', -1) as int) between {{ var('value_ranges')['issue_year']['min'] }}
                and {{ var('value_ranges')['issue_year']['max'] }}
            then to_date({{ expr }}, 'd MMMM yyyy')
    end
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
    datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}

{#- The same grammar as PostgreSQL's, anchored with \\z: Java's $ also matches before a final
    line break, so '12\n' would be a number here and not there. Java's parser gives the
    double nearest to the text, +-Infinity past the largest and 0 below the smallest, as
    default__try_cast_double decides them. -#}
{% macro spark__try_cast_double(expr) -%}
    case
        when {{ expr }} rlike '{{ number_grammar() }}\\z' and length({{ expr }}) <= {{ var('max_text_length') }}
            then cast({{ expr }} as double)
    end
{%- endmacro %}

{% macro spark__try_cast_bigint(expr) -%}
    case
        when {{ expr }} rlike '^[-+]?[0-9]{1,18}([.]0*)?\\z' and length({{ expr }}) <= 40
            then cast(split_part({{ expr }}, '.', 1) as bigint)
    end
{%- endmacro %}

{% macro spark__try_cast_boolean(expr) -%}
    {{ default__try_cast_boolean(expr) }}
{%- endmacro %}

{#- Spark's own cast writes Java's Double.toString ('-14000.0', '1.0E7'), which on Java 17
    is not always the shortest ('7.1508394259649264E16' for 7.150839425964926E16). So, step by
    step on an array of one text (each transform names its input), read from the inside out:
    the shortest scientific text that reads back as the same double (1 to 17 significant
    digits), its digits and the place of the decimal point, the digits padded with zeros to
    reach the point, and the plain text without trailing zeros. -#}
{% macro spark__float_to_text(expr) -%}
    case
        when isnan({{ expr }}) or abs({{ expr }}) = double('Infinity') then cast({{ expr }} as string)
        else concat(if({{ expr }} < 0, '-', ''), element_at(
            transform(
                transform(
                    transform(
                        -- -14000: '1.4e+04', the fewest digits that give the double back
                        filter(
                            transform(sequence(0, 16), decimals -> format_string(concat('%.', decimals, 'e'), abs({{ expr }}))),
                            candidate -> cast(candidate as double) = abs({{ expr }})
                        ),
                        -- digits '14'; the point after 5 of them (exponent + 1)
                        shortest -> named_struct(
                            'digits', regexp_replace(shortest, 'e.*$|[.]', ''),
                            'point', 1 + cast(regexp_extract(shortest, 'e[+]?(-?[0-9]+)$', 1) as int)
                        )
                    ),
                    -- '14000' (zeros on the right when the point is after the digits, on the
                    -- left when before: 1.5e-05 gives '0000015', the point after 1)
                    split -> named_struct(
                        'digits', concat(
                            repeat('0', greatest(1 - split.point, 0)),
                            rpad(split.digits, greatest(split.point, length(split.digits)), '0')
                        ),
                        'point', greatest(split.point, 1)
                    )
                ),
                -- '14000.' -> '14000'; '0.000015'
                padded -> regexp_replace(regexp_replace(
                    concat(substr(padded.digits, 1, padded.point), '.', substr(padded.digits, padded.point + 1)),
                    '([.][0-9]*?)0+$', '$1'), '[.]$', '')
            ),
            1
        ))
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
