"""`lending_elt_spark`, run as a user runs it (`lendflow airflow-run`), and what every run of it
must show: each task succeeded, each dbt model ran as a task of its own, the marts hold the loans."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lendflow import settings as config
from lendflow.settings import Settings
from tests.strategies import csv_loan_ids

SERVICE_OF_TARGET = {"spark": "spark", "spark_thrift": "spark-cluster"}
# What `dbt build` reports of a node that passed (no-op: the dashboard exposure).
PASSED = ("success", "pass", "no-op")
# The nodes every build must run (a data test may be left out on one engine).
BUILT = ("model", "seed", "snapshot")


@dataclass(frozen=True)
class SparkDagRun:
    target: str
    returncode: int
    summary: dict[str, Any]

    @property
    def run_dir(self) -> Path:
        return Path(self.summary["run_dir"])

    def artifact(self, name: str) -> Any:
        """A JSON file the run kept in its folder (orchestration.artifacts)."""
        return json.loads((self.run_dir / name).read_text())


def run_lending_elt_spark(settings: Settings, sample: Path, topic: str) -> SparkDagRun:
    """The DAG on settings' Spark target: the sample's loans.csv, its stream.csv replayed to `topic`."""
    env = config.child_environment(settings)
    lendflow = str(Path(sys.executable).parent / "lendflow")
    target = settings.spark_target
    compiled = subprocess.run(
        [lendflow, "compile-manifest", "--target", target], env=env, capture_output=True, text=True, check=False
    )
    assert compiled.returncode == 0, compiled.stderr[-3000:]
    runs = settings.runs_dir / "lending_elt_spark"
    before = set(runs.glob("*/summary.json"))
    cmd = [
        lendflow, "airflow-run", "lending_elt_spark", "--no-compile-first",
        "--input", str(sample / "loans.csv"), "--stream-file", str(sample / "stream.csv"), "--topic", topic,
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=1500)
    made = sorted(set(runs.glob("*/summary.json")) - before, key=lambda p: p.stat().st_mtime)
    assert made, proc.stderr[-5000:]
    return SparkDagRun(target, proc.returncode, json.loads(made[-1].read_text()))


def dbt_build_failures(run: SparkDagRun) -> list[str]:
    """What the run's dbt build did not do: every node it ran that did not pass, and every model,
    seed and snapshot of the run's manifest it never ran (dbt's results, kept in the run's folder).
    A data test it never ran is not counted: a Spark build leaves out the PostgreSQL-only tests."""
    from orchestration.artifacts import dbt_results

    results = dbt_results(run.run_dir)
    built = [uid for uid, node in run.artifact("manifest.json")["nodes"].items() if node["resource_type"] in BUILT]
    failed = [f"{uid}: {status}" for uid, status in sorted(results.items()) if status not in PASSED]
    return failed + [f"{uid}: never ran" for uid in built if uid not in results]


def unit_test_failures(run: SparkDagRun) -> list[str]:
    """The unit tests of the run's manifest its dbt build did not pass (or never ran)."""
    from orchestration.artifacts import dbt_results

    results = dbt_results(run.run_dir)
    return [
        f"{uid}: {results.get(uid, 'never ran')}"
        for uid in sorted(run.artifact("manifest.json")["unit_tests"])
        if results.get(uid) not in PASSED
    ]


def assert_every_model_ran_and_the_marts_hold_the_loans(run: SparkDagRun, sample: Path) -> None:
    summary = run.summary
    assert run.returncode == 0, summary["failed_tasks"]
    assert set(summary["task_states"].values()) == {"success"}
    assert dbt_build_failures(run) == []
    recorded = run.artifact("run.json")
    assert (recorded["target"], recorded["services"][-1]) == (run.target, SERVICE_OF_TARGET[run.target])
    for node in run.artifact("manifest.json")["nodes"].values():
        if node["resource_type"] == "model":
            name = node["name"]
            assert f"dbt.{name}.run" in summary["task_states"] or f"dbt.{name}_run" in summary["task_states"], name
    expected = csv_loan_ids(sample / "loans.csv") | csv_loan_ids(sample / "stream.csv")
    loans = summary["mart_rows"]["marts.fct_loans"]
    assert len(expected) * 0.9 <= loans <= len(expected)
