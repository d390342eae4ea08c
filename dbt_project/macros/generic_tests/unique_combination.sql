{#- No two rows share the values of these columns (nulls count as equal): the grain of a
    model with a composite key. Hand-written, since dbt hub packages are out of reach. -#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as duplicates

from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
