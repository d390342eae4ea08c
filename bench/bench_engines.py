"""The warehouse on PostgreSQL, on Spark local mode and on the local Spark cluster, side by side.

    LENDFLOW_PG_DB=lendflow_bench_engines .venv/bin/python bench/bench_engines.py [--rows 1000000 5000000]
        [--engines postgres spark spark_thrift]

For each size, one generated sample file (no stream, so every engine sees the same input), and
on each engine, as a user runs it, each step a fresh `lendflow` process:

- land: `lendflow land` + `lendflow python-steps` (PostgreSQL), `lendflow spark-stage --no-stream
  --target spark|spark_thrift` (Spark: staging and the Python steps);
- build: `lendflow dbt --target <engine> build`, unit tests left out (they do not depend on the
  data, and one failing on an engine would skip the models after it);
- questions: `lendflow spark-questions` on the Spark engines; on PostgreSQL the answers are the
  marts the build wrote (the dashboard reads them), so nothing is left to time.

Memory: every 0.2 s the proportional set size (PSS) of every process involved is summed: the step's process
tree (the CLI, dbt, a local-mode JVM), PostgreSQL's server (the postmaster and its backends),
and on spark_thrift the cluster's JVMs (master, worker, Thrift server, executors). The peak
of that sum, and of each part, is reported per step. The ten slowest dbt nodes of each build
come from its run_results.json.

Each size gets a fresh database, a fresh Spark home and, for spark_thrift, a fresh cluster (its
metastore database dropped) sized by LENDFLOW_SPARK_WORKER_CORES/MEMORY, so every build is a
full one. Results: bench/results/engines.json.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Before lendflow reads its settings: the benchmark has a database of its own.
os.environ.setdefault("LENDFLOW_PG_DB", "lendflow_bench_engines")

import psutil
from rich.console import Console
from rich.table import Table

from lendflow import settings as config
from lendflow.services import postgres, spark_cluster
from lendflow.settings import Settings
from sample.files import write_sample

console = Console(width=None if sys.stdout.isatty() else 200)
LENDFLOW = str(Path(sys.executable).parent / "lendflow")
RESULTS = Path(__file__).parent / "results" / "engines.json"
ENGINES = ("postgres", "spark", "spark_thrift")
SAMPLE_EVERY = 0.2


@dataclass
class Step:
    rows: int
    engine: str
    step: str
    seconds: float
    ok: bool
    peak_total_mb: float
    peak_parts_mb: dict[str, float]


@dataclass
class EngineRun:
    rows: int
    engine: str
    steps: list[Step] = field(default_factory=list)
    slowest_nodes: list[tuple[str, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


# --- the processes involved ------------------------------------------------------------------
def tree(pid: int | None) -> list[psutil.Process]:
    """A process and all its descendants (empty when it is gone)."""
    if pid is None:
        return []
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    return []


def postgres_server_pid(settings: Settings) -> int | None:
    """The postmaster of the local server (first line of postmaster.pid)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((postgres.data_dir(settings) / "postmaster.pid").read_text().split()[0])
    return None


def cluster_pids(settings: Settings) -> list[int]:
    return [pid for process in spark_cluster.PROCESSES if (pid := process.pid(settings)) is not None]


def resident_mb(processes: Iterable[psutil.Process]) -> float:
    """Proportional set size (PSS) summed: PostgreSQL's backends share its buffers, and the sum
    of their resident sets would count the shared pages once per backend."""
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_full_info().pss
    return total / 1e6


def parts_of(settings: Settings, engine: str, step_pid: int) -> Callable[[], dict[str, list[psutil.Process]]]:
    """The groups of processes a step's memory is the sum of, looked up afresh at each sample."""

    def parts() -> dict[str, list[psutil.Process]]:
        groups = {"step": tree(step_pid), "postgres": tree(postgres_server_pid(settings))}
        if engine == "spark_thrift":
            groups["cluster"] = [p for pid in cluster_pids(settings) for p in tree(pid)]
        return groups

    return parts


def timed(
    rows: int, engine: str, step: str, cmd: list[str], env: dict[str, str], log: Path, settings: Settings
) -> Step:
    """Run one step; its wall time and the peak resident memory of every process involved."""
    peak_total = 0.0
    peak_parts: dict[str, float] = {}
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        parts = parts_of(settings, engine, proc.pid)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_total
            while not done.is_set():
                sizes = {name: resident_mb(group) for name, group in parts().items()}
                peak_total = max(peak_total, sum(sizes.values()))
                for name, size in sizes.items():
                    peak_parts[name] = max(peak_parts.get(name, 0.0), size)
                done.wait(SAMPLE_EVERY)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    state = "[green]ok[/green]" if code == 0 else f"[red]failed[/red] (see {log})"
    console.print(f"{rows:,} {engine} {step}: {seconds:.1f} s, peak {peak_total:,.0f} MB {state}")
    return Step(rows, engine, step, seconds, code == 0, peak_total, peak_parts)


def slowest_nodes(target_path: Path, count: int = 10) -> list[tuple[str, float]]:
    """The `count` dbt nodes that took longest in the build whose artifacts are in target_path."""
    results = target_path / "run_results.json"
    if not results.is_file():
        return []
    nodes = json.loads(results.read_text())["results"]
    timed_nodes = sorted(((n["unique_id"], float(n["execution_time"])) for n in nodes), key=lambda n: -n[1])
    return timed_nodes[:count]


# --- one size --------------------------------------------------------------------------------
def fresh_cluster(settings: Settings) -> None:
    """The local cluster, restarted on this size's Spark home with an empty metastore."""
    spark_cluster.stop(settings)
    spark_cluster.drop_metastore(settings)
    spark_cluster.start(settings)


def engine_steps(engine: str, file: str) -> list[tuple[str, list[list[str]]]]:
    """(step name, the commands it runs) of one engine."""
    build = [LENDFLOW, "dbt", "--target", engine, "--", "build", "--exclude", "test_type:unit"]
    if engine == "postgres":
        return [("land", [[LENDFLOW, "land", file], [LENDFLOW, "python-steps"]]), ("build", [build])]
    return [
        ("land", [[LENDFLOW, "spark-stage", file, "--no-stream", "--target", engine]]),
        ("build", [build]),
        ("questions", [[LENDFLOW, "spark-questions", "--target", engine]]),
    ]


def bench_size(rows: int, engines: list[str], work: Path, done: list[EngineRun]) -> list[EngineRun]:
    """Every engine on one size; each finished engine is saved at once, beside `done`."""
    sample = work / f"sample-{rows}"
    if not (sample / "loans.parquet").exists():
        console.print(f"generating {rows:,} loans")
        write_sample(sample, rows=rows, seed=2024, stream_rows=0, progress=False)
    spark_home = work / f"spark-{rows}"
    shutil.rmtree(spark_home, ignore_errors=True)
    settings = dataclasses.replace(config.load(), spark_home_override=spark_home)
    postgres.recreate_database(settings)  # with the roles and grants landing and dbt run as
    file = str(sample / "loans.parquet")

    runs = []
    for engine in engines:
        engine_settings = settings.on_target(engine)
        if engine == "spark_thrift":
            fresh_cluster(engine_settings)
        target_path = work / f"target-{engine}-{rows}"
        env = {**config.child_environment(engine_settings), "DBT_TARGET_PATH": str(target_path)}
        run = EngineRun(rows, engine)
        for step, commands in engine_steps(engine, file):
            for index, cmd in enumerate(commands):
                log = work / f"{step}{index or ''}-{engine}-{rows}.log"
                run.steps.append(timed(rows, engine, step, cmd, env, log, engine_settings))
        run.slowest_nodes = slowest_nodes(target_path)
        runs.append(run)
        save([*done, *runs])
        if engine == "spark_thrift":
            spark_cluster.stop(engine_settings)
    return runs


# --- the report ------------------------------------------------------------------------------
def merged_steps(run: EngineRun) -> dict[str, tuple[float, float, dict[str, float]]]:
    """Per step name: (seconds, peak total MB, peak MB per part), commands of one step added up."""
    merged: dict[str, tuple[float, float, dict[str, float]]] = {}
    for step in run.steps:
        seconds, peak, parts = merged.get(step.step, (0.0, 0.0, {}))
        parts = {k: max(parts.get(k, 0.0), step.peak_parts_mb.get(k, 0.0)) for k in {*parts, *step.peak_parts_mb}}
        merged[step.step] = (seconds + step.seconds, max(peak, step.peak_total_mb), parts)
    return merged


def report(runs: list[EngineRun]) -> Table:
    table = Table(title="land + build + questions: PostgreSQL (baseline), Spark local[2], the local cluster")
    columns = ("loans", "engine", "land s", "build s", "questions s", "total s", "x PostgreSQL", "peak MB (parts)")
    for column in columns:
        table.add_column(column, justify="right")
    baseline = {r.rows: r.seconds for r in runs if r.engine == "postgres"}
    for run in runs:
        steps = merged_steps(run)
        ratio = run.seconds / baseline[run.rows] if baseline.get(run.rows) else float("nan")
        peak = max((p for _, p, _ in steps.values()), default=0.0)
        parts: dict[str, float] = {}
        for _, _, step_parts in steps.values():
            parts = {k: max(parts.get(k, 0.0), step_parts.get(k, 0.0)) for k in {*parts, *step_parts}}
        parts_text = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(parts.items()))
        row = [f"{run.rows:,}", run.engine]
        row += [f"{steps[s][0]:.1f}" if s in steps else "-" for s in ("land", "build", "questions")]
        row += [f"{run.seconds:.1f}" + ("" if run.ok else " FAILED"), f"{ratio:.2f}", f"{peak:,.0f} ({parts_text})"]
        table.add_row(*row)
    return table


def save(runs: list[EngineRun]) -> None:
    """Into RESULTS, replacing what an earlier run measured for the same size and engine only."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    fresh = {(run.rows, run.engine) for run in runs}
    kept = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    kept = [entry for entry in kept if (entry["rows"], entry["engine"]) not in fresh]
    payload = [
        {**dataclasses.asdict(run), "seconds": run.seconds, "ok": run.ok, "load_average": os.getloadavg()}
        for run in runs
    ]
    RESULTS.write_text(json.dumps(sorted([*kept, *payload], key=lambda e: (e["rows"], e["engine"])), indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--work", type=Path, default=config.load().home / "bench" / "engines")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    runs: list[EngineRun] = []
    for rows in args.rows:
        runs += bench_size(rows, args.engines, args.work, runs)
        console.print(report(runs))
        for run in runs[-len(args.engines) :]:
            console.print(f"slowest dbt nodes, {run.engine}, {run.rows:,} loans:")
            for node, seconds in run.slowest_nodes:
                console.print(f"  {seconds:8.1f} s  {node}")
    console.print(f"logs under {args.work}; results in {RESULTS}")


if __name__ == "__main__":
    main()
