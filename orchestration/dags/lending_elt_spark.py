"""Airflow DAG `lending_elt_spark`: the same pipeline on Spark (Spark staging, dbt-spark session target)."""

from orchestration.elt_dag import build_elt_dag

dag = build_elt_dag("lending_elt_spark", "spark", tags=("spark",))
