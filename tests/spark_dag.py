"""`lending_elt_spark`, run as a user runs it (`lendflow airflow-run`), and what every run of it
must show: each task succeeded, each dbt model ran as a task of its own, the marts hold the loans."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lendflow import settings as config
from lendflow.settings import Settings

SERVICE_OF_TARGET = {"spark": "spark", "spark_thrift": "spark-cluster"}


@dataclass(frozen=True)
class SparkDagRun:
    target: str
    returncode: int
    output: str
    summary: dict[str, Any]

    @property
    def run_dir(self) -> Path:
        return Path(self.summary["run_dir"])


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
    return SparkDagRun(target, proc.returncode, proc.stdout + proc.stderr, json.loads(made[-1].read_text()))


def _loan_ids(path: Path) -> set[int]:
    with open(path, newline="") as handle:
        return {int(row["Loan Id"]) for row in csv.DictReader(handle) if row["Loan Id"].strip().isdigit()}


def assert_every_model_ran_and_the_marts_hold_the_loans(run: SparkDagRun, sample: Path) -> None:
    summary = run.summary
    assert run.returncode == 0, summary["failed_tasks"]
    assert set(summary["task_states"].values()) == {"success"}
    recorded = json.loads((run.run_dir / "run.json").read_text())
    assert (recorded["target"], recorded["services"][-1]) == (run.target, SERVICE_OF_TARGET[run.target])
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model":
            name = node["name"]
            assert f"dbt.{name}.run" in summary["task_states"] or f"dbt.{name}_run" in summary["task_states"], name
    expected = _loan_ids(sample / "loans.csv") | _loan_ids(sample / "stream.csv")
    loans = summary["mart_rows"]["marts.fct_loans"]
    assert len(expected) * 0.9 <= loans <= len(expected)
