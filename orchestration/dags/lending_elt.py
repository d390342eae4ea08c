"""Airflow DAG `lending_elt`: the whole pipeline on PostgreSQL (see orchestration/elt_dag.py)."""

from orchestration.elt_dag import build_elt_dag

dag = build_elt_dag("lending_elt", "postgres")
