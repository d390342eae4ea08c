"""Airflow DAG `lending_stream`: started by new messages on the Kafka topic (an asset watcher); lands
them and builds the stream path of the dbt project (see orchestration/stream_dag.py)."""

from orchestration.stream_dag import build_stream_dag

dag = build_stream_dag("lending_stream")
