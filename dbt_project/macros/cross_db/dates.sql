{#- Parse an issue date written '%d %B %Y' ('14 August 2014'); null when it is not one
    (wrong shape, unknown month, a day the month does not have, or a year outside the
    declared issue_year range). -#}
{% macro try_parse_long_date(expr) -%}
    {{ return(adapter.dispatch('try_parse_long_date', 'lendflow')(expr)) }}
{%- endmacro %}

{% macro default__try_parse_long_date(expr) -%}
    {#- to_date raises on '31 February 2014': check the shape, the month name and the day
        against the month's length before parsing (nested case: evaluation order is
        guaranteed). Plain comparisons, no regular expression with alternatives: this runs on
        every landed row. -#}
    case
        when {{ expr }} ~ '^[0-9]{1,2} [A-Za-z]+ [0-9]{4}$'
            and initcap(split_part({{ expr }}, ' ', 2)) in (
                'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
                'September', 'October', 'November', 'December'
            )
            then case
                when cast(split_part({{ expr }}, ' ', 3) as integer) not between
                    {{ var('value_ranges')['issue_year']['min'] }} and {{ var('value_ranges')['issue_year']['max'] }}
                    then null
                when cast(split_part({{ expr }}, ' ', 1) as integer) between 1 and
                    case initcap(split_part({{ expr }}, ' ', 2))
                        when 'February' then
                            case
                                when cast(split_part({{ expr }}, ' ', 3) as integer) % 4 = 0
                                    and (cast(split_part({{ expr }}, ' ', 3) as integer) % 100 != 0
                                        or cast(split_part({{ expr }}, ' ', 3) as integer) % 400 = 0)
                                    then 29
                                else 28
                            end
                        when 'April' then 30
                        when 'June' then 30
                        when 'September' then 30
                        when 'November' then 30
                        else 31
                    end
                    then to_date({{ expr }}, 'DD FMMonth YYYY')
            end
    end
{%- endmacro %}

{#- Whole days from start_date to end_date (end minus start). -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'lendflow')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    ({{ end_date }} - {{ start_date }})
{%- endmacro %}
