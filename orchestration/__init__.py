"""Airflow DAGs built with astronomer-cosmos, their steps, quality gates and run artifacts."""
