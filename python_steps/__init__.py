"""Python steps: the work SQL cannot do, run between landing and dbt (`lendflow python-steps`).

Each step is a pure, typed function (titles.py, transforms.py); run.py reads the raw tables,
calls them, and writes their results as tables of the ``python_steps`` schema that dbt reads
as sources.
"""
