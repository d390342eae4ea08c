"""Airflow DAG `lending_elt_spark`: the same pipeline on Spark (Spark staging, dbt-spark).

Where Spark runs is LENDFLOW_SPARK_TARGET: `spark`, local mode in each task (the default), or
`spark_thrift`, the cluster (`lendflow up -s spark-cluster`, or another one's Thrift server).
"""

from lendflow import settings as config
from orchestration.elt_dag import build_elt_dag

dag = build_elt_dag("lending_elt_spark", config.load().spark_target, tags=("spark",))
