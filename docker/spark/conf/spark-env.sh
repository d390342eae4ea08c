# Generated from lendflow/services/spark.py by `.venv/bin/python -m lendflow.services.spark_compose`: do not edit.
SPARK_WORKER_CORES=2
SPARK_WORKER_MEMORY=2g
SPARK_DAEMON_MEMORY=512m
