"""Benchmark the orchestration: DAG parse time, and the orchestrated run against a plain `dbt build`.

    .venv/bin/python bench/bench_orchestration.py [--rows 27030 1000000] [--repeat 3]
        [--modes watcher:after_each,local:build]

1. Parse time of orchestration/dags/lending_elt.py, each in a fresh interpreter (as Airflow's
   DAG processor parses a file), rendering from the compiled manifest (LoadMode.DBT_MANIFEST)
   against rendering with `dbt ls` (LoadMode.DBT_LS, its cache off). Baseline: dbt ls.
2. For each sample size and Cosmos mode (execution mode : test behavior): a real `lending_elt` run
   (dag.test) on a fresh database, the span of its dbt tasks (first one's start to the last one's end),
   then a plain `dbt build --full-refresh` on the same landed data. Baseline: the plain dbt build.
   Target: orchestrated / plain <= 1.3. WATCHER runs one `dbt build` in its producer task, and
   its per-model sensors after it (see orchestration/elt_dag.py); LOCAL runs dbt once per task.
   WATCHER has no `build` test behavior (Cosmos refuses it). Airflow's cost is per task (~0.1-0.3 s
   a sensor under dag.test) and per dbt node (~12 ms for each XCom the producer pushes), so the
   ratio falls as the data grows: measure at the size you run.

Uses its own warehouse database (lendflow_bench_orchestration) and Kafka topic; prints tables
and writes bench/results/orchestration.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_DB = "lendflow_bench_orchestration"
os.environ["LENDFLOW_PG_DB"] = BENCH_DB

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from lendflow import settings as config  # noqa: E402

console = Console()

# The dbt work of a run: the Cosmos task group, and LOCAL mode's task for the unit tests Cosmos
# renders no task for. Not dbt_docs, which comes after the marts' quality gate.
DBT_TASKS = ("dbt.", "dbt_unit_tests")

PARSE_SNIPPET = """
import sys, time
from lendflow import settings as config
from lendflow.services import airflow as service
service.activate(config.load())
# Airflow's DAG processor has these loaded (and its plugins) before it parses a file: not part of a file's parse.
import airflow.sdk, cosmos
from airflow.sdk.lineage import get_hook_lineage_collector
get_hook_lineage_collector()
from airflow.dag_processing.dagbag import DagBag
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - started
assert not bag.import_errors, bag.import_errors
assert "lending_elt" in bag.dag_ids
print(elapsed)
"""


def parse_seconds(load_mode: str) -> float:
    env = {
        **os.environ,
        "LENDFLOW_COSMOS_LOAD_MODE": load_mode,
        "AIRFLOW__COSMOS__ENABLE_CACHE_DBT_LS": "False",
        # dbt ls rendering can outlast Airflow's default 30 s import timeout on a busy machine.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    dag_file = REPO / "orchestration" / "dags" / "lending_elt.py"
    proc = subprocess.run(
        [sys.executable, "-c", PARSE_SNIPPET, str(dag_file)], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"parsing with {load_mode} failed:\n{proc.stderr[-3000:]}")
    return float(proc.stdout.strip().splitlines()[-1])


def fresh_database() -> None:
    from lendflow.services import postgres

    postgres.recreate_database(config.load())  # with the roles and grants landing and dbt run as


def orchestrated_run(mode: str, sample: Path) -> dict[str, Any]:
    """A fresh database, one lending_elt run in `mode` (execution[:test behavior]); the run's summary."""
    fresh_database()
    execution, _, tests = mode.partition(":")
    env = {
        **os.environ,
        "LENDFLOW_COSMOS_EXECUTION_MODE": execution,
        "LENDFLOW_COSMOS_TEST_BEHAVIOR": tests or "after_each",
    }
    cmd = [
        str(Path(sys.executable).parent / "lendflow"), "airflow-run", "lending_elt", "--no-compile-first",
        "--input", str(sample / "loans.csv"), "--stream-file", str(sample / "stream.csv"),
        "--topic", f"lendflow-bench-{uuid.uuid4().hex[:8]}",
    ]  # fmt: skip
    runs = config.load().runs_dir / "lending_elt"
    before = set(runs.glob("*/summary.json"))
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    made = sorted(set(runs.glob("*/summary.json")) - before, key=lambda p: p.stat().st_mtime)
    if proc.returncode != 0 or not made:
        raise RuntimeError(f"the {mode} run failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    summary: dict[str, Any] = json.loads(made[-1].read_text())
    summary["process_wall"] = wall
    return summary


def plain_dbt_build() -> float:
    """`dbt build --full-refresh` on the data the orchestrated run landed: the baseline."""
    from lendflow.dbt import run_dbt

    started = time.monotonic()
    run_dbt(["build", "--full-refresh", "--quiet"], config.load())
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[27_030, 1_000_000],
        help="batch loans in each generated sample [default: the make-run sample's size, and 1,000,000]",
    )
    parser.add_argument("--repeat", type=int, default=3, help="parse-time repetitions (median reported)")
    parser.add_argument(
        "--modes",
        default="watcher:after_each,local:build",
        help="Cosmos execution_mode[:test_behavior] list; local:after_each is the slowest (~5 min at 2,000 loans)",
    )
    parser.add_argument("--skip-parse", action="store_true")
    parser.add_argument("--skip-run", action="store_true")
    args = parser.parse_args()

    from lendflow.services import local
    from orchestration.runner import compile_manifest, span
    from sample.files import write_sample

    settings = config.load()
    local.up(settings, ["postgres", "kafka"])
    compile_manifest(settings, "postgres")
    results: dict[str, Any] = {}

    if not args.skip_parse:
        manifest = [parse_seconds("dbt_manifest") for _ in range(args.repeat)]
        dbt_ls = [parse_seconds("dbt_ls") for _ in range(args.repeat)]
        results["parse"] = {"dbt_manifest": manifest, "dbt_ls": dbt_ls}
        table = Table(title=f"parse time of lending_elt.py (median of {args.repeat}, fresh interpreter each)")
        for column in ("rendering", "seconds", "ratio vs dbt ls"):
            table.add_column(column)
        base = statistics.median(dbt_ls)
        for name, values in (("dbt ls (baseline)", dbt_ls), ("compiled manifest", manifest)):
            table.add_row(name, f"{statistics.median(values):.2f}", f"{statistics.median(values) / base:.2f}")
        console.print(table)

    if not args.skip_run:
        runs: dict[str, dict[str, Any]] = {}
        for rows in args.rows:
            sample = settings.data_dir / f"bench-sample-{rows}"
            if not (sample / "loans.csv").is_file():
                write_sample(sample, rows=rows, seed=5, stream_rows=max(rows // 10, 100), progress=False)
            for mode in args.modes.split(","):
                summary = orchestrated_run(mode, sample)
                plain = plain_dbt_build()
                runs[f"{rows}/{mode}"] = {
                    "rows": rows,
                    "mode": mode,
                    "dag_wall": summary["seconds"],
                    "dbt_group": span(summary, DBT_TASKS),
                    "dbt_tasks": sum(1 for task in summary["task_states"] if task.startswith(DBT_TASKS)),
                    "producer": span(summary, "dbt.dbt_producer_watcher"),
                    "plain_dbt_build": plain,
                    "run_dir": summary["run_dir"],
                }
                console.print(f"{rows:,} loans, {mode}: {runs[f'{rows}/{mode}']}")
        results["runs"] = runs
        table = Table(title="orchestrated vs plain dbt build (sample + a tenth as stream; fresh DB per run)")
        columns = ("loans", "mode", "dbt tasks", "plain dbt build s", "dbt tasks' span s", "of which producer s")
        for column in (*columns, "ratio", "whole DAG s"):
            table.add_column(column)
        for run in runs.values():
            table.add_row(
                f"{run['rows']:,}",
                run["mode"],
                str(run["dbt_tasks"]),
                f"{run['plain_dbt_build']:.1f}",
                f"{run['dbt_group']:.1f}",
                f"{run['producer']:.1f}" if run["producer"] else "-",
                f"{run['dbt_group'] / run['plain_dbt_build']:.2f}",
                f"{run['dag_wall']:.1f}",
            )
        console.print(table)

    out = REPO / "bench" / "results" / "orchestration.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    console.print(f"raw figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
