"""Airflow DAG `lending_full_refresh`: triggered by hand; rebuilds every incremental model from scratch."""

from orchestration.elt_dag import build_elt_dag

dag = build_elt_dag("lending_full_refresh", "postgres", full_refresh=True, tags=("full-refresh",))
