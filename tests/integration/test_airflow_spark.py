"""A real run of `lending_elt_spark`: Spark staging, Spark Python steps, dbt-spark, GX on Spark DataFrames,
on each Spark target: local mode and the local cluster.

Local mode: its own Spark home (warehouse + Derby metastore) in a temporary folder, so it never
collides with another Spark process on a shared metastore. The cluster: the suite's
(tests/conftest.py's local_cluster), whose home the run's `lendflow` process uses. The summary
counts the marts in Spark itself.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from lendflow import settings as config
from lendflow.settings import Settings

pytestmark = [pytest.mark.airflow, pytest.mark.spark, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def _loan_ids(path: Path) -> set[int]:
    with open(path, newline="") as handle:
        return {int(row["Loan Id"]) for row in csv.DictReader(handle) if row["Loan Id"].strip().isdigit()}


@pytest.fixture(params=["spark", "spark_thrift"])
def spark_settings(request: pytest.FixtureRequest, postgres: Settings, tmp_path: Path) -> Settings:
    """Settings that send the DAG's Spark work to the target under test."""
    if request.param == "spark_thrift":
        return request.getfixturevalue("local_cluster")  # type: ignore[no-any-return]
    return dataclasses.replace(postgres, spark_home_override=tmp_path / "spark", spark_target="spark")


def test_lending_elt_spark_builds_every_model_on_spark(
    spark_settings: Settings, kafka: Settings, small_sample: Path
) -> None:
    target = spark_settings.spark_target
    env = config.child_environment(spark_settings)
    lendflow = str(Path(sys.executable).parent / "lendflow")
    compiled = subprocess.run(
        [lendflow, "compile-manifest", "--target", target], env=env, capture_output=True, text=True, check=False
    )
    assert compiled.returncode == 0, compiled.stderr[-3000:]
    runs = spark_settings.runs_dir / "lending_elt_spark"
    before = set(runs.glob("*/summary.json"))
    cmd = [
        lendflow, "airflow-run", "lending_elt_spark", "--no-compile-first",
        "--input", str(small_sample / "loans.csv"), "--stream-file", str(small_sample / "stream.csv"),
        "--topic", f"lendflow-airflow-spark-{uuid.uuid4().hex[:8]}",
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=1500)
    made = sorted(set(runs.glob("*/summary.json")) - before, key=lambda p: p.stat().st_mtime)
    assert made, proc.stderr[-5000:]
    summary = json.loads(made[-1].read_text())

    assert proc.returncode == 0, summary["failed_tasks"]
    assert set(summary["task_states"].values()) == {"success"}
    run = json.loads((Path(summary["run_dir"]) / "run.json").read_text())
    assert (run["target"], run["services"][-1]) == (target, {"spark": "spark", "spark_thrift": "spark-cluster"}[target])
    manifest = json.loads((Path(summary["run_dir"]) / "manifest.json").read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model":
            name = node["name"]
            assert f"dbt.{name}.run" in summary["task_states"] or f"dbt.{name}_run" in summary["task_states"], name
    expected = _loan_ids(small_sample / "loans.csv") | _loan_ids(small_sample / "stream.csv")
    loans = summary["mart_rows"]["marts.fct_loans"]
    assert len(expected) * 0.9 <= loans <= len(expected)
