"""A real run of `lending_elt_spark` on the local cluster: Spark staging and the Python steps
submitted to it, dbt through its Thrift server, GX on Spark DataFrames. The cluster is the suite's
(tests/conftest.py's local_cluster), whose home the run's `lendflow` process uses; the summary
counts the marts in Spark itself. The run in local mode is test_spark.py's warehouse.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lendflow.settings import Settings
from tests.spark_dag import assert_every_model_ran_and_the_marts_hold_the_loans, run_lending_elt_spark

pytestmark = [pytest.mark.airflow, pytest.mark.spark, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def test_lending_elt_spark_builds_every_model_on_the_cluster(
    local_cluster: Settings, kafka: Settings, small_sample: Path
) -> None:
    run = run_lending_elt_spark(local_cluster, small_sample, f"lendflow-airflow-spark-{uuid.uuid4().hex[:8]}")
    assert_every_model_ran_and_the_marts_hold_the_loans(run, small_sample)
