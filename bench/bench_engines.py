"""The full warehouse build on PostgreSQL and on Spark, side by side, for growing inputs.

    LENDFLOW_PG_DB=lendflow_bench_engines .venv/bin/python bench/bench_engines.py [--rows 1000000 5000000]

For each size: one generated sample file (plus no stream, so both engines see the same input),
landed into PostgreSQL (`lendflow land`) and into Spark staging (`lendflow spark-stage`), the
Python steps on each, then `dbt build` timed on each engine as a user runs it
(`lendflow dbt --target postgres|spark build`, a fresh process: for Spark that includes the
~25 s JVM start). dbt's unit tests are left out on both sides: they do not depend on the
data size, and one failing on an engine would skip the models after it. Peak memory is the
largest resident set of the timed process tree (dbt and, for Spark, its JVM), sampled every
0.2 s; PostgreSQL's own server processes are not counted.
Each size gets a fresh database and a fresh Spark home, so every build is a full one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# Before lendflow reads its settings: the benchmark has a database of its own.
os.environ.setdefault("LENDFLOW_PG_DB", "lendflow_bench_engines")

import psutil
from rich.console import Console
from rich.table import Table

from lendflow import settings as config
from lendflow.services import postgres
from lendflow.settings import Settings
from sample.files import write_sample

console = Console()
LENDFLOW = str(Path(sys.executable).parent / "lendflow")


@dataclass(frozen=True)
class Timing:
    rows: int
    engine: str
    seconds: float
    peak_mb: float
    ok: bool


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def timed(cmd: list[str], env: dict[str, str], log: Path) -> tuple[float, float, bool]:
    """(wall seconds, peak tree RSS in MB, succeeded) of one command."""
    peak = 0
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        watched = psutil.Process(proc.pid)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                try:
                    peak = max(peak, tree_rss(watched))
                except psutil.Error:
                    return
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    return seconds, peak / 1e6, code == 0


def fresh_database(settings: Settings) -> None:
    postgres.recreate_database(settings)  # with the roles and grants landing and dbt run as


def run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    with open(log, "w") as out:
        subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, check=True)


def bench_size(rows: int, work: Path) -> list[Timing]:
    settings = config.load()
    sample = work / f"sample-{rows}"
    if not (sample / "loans.parquet").exists():
        console.print(f"generating {rows:,} loans")
        write_sample(sample, rows=rows, seed=2024, stream_rows=0, progress=False)
    spark_home = work / f"spark-{rows}"
    shutil.rmtree(spark_home, ignore_errors=True)
    env = {**os.environ, "LENDFLOW_SPARK_HOME": str(spark_home), "DBT_TARGET_PATH": str(work / f"target-{rows}")}
    fresh_database(settings)
    file = str(sample / "loans.parquet")

    console.print(f"{rows:,}: landing into PostgreSQL and Spark staging")
    run([LENDFLOW, "land", file], env, work / f"land-pg-{rows}.log")
    run([LENDFLOW, "python-steps"], env, work / f"steps-pg-{rows}.log")
    run([LENDFLOW, "spark-stage", file, "--no-stream"], env, work / f"stage-spark-{rows}.log")

    timings = []
    for engine in ("postgres", "spark"):
        console.print(f"{rows:,}: dbt build on {engine}")
        seconds, peak, ok = timed(
            [LENDFLOW, "dbt", "--target", engine, "--", "build", "--exclude", "test_type:unit"],
            env,
            work / f"build-{engine}-{rows}.log",
        )
        timings.append(Timing(rows, engine, seconds, peak, ok))
    return timings


def report(timings: list[Timing]) -> Table:
    table = Table(title="full dbt build: PostgreSQL (baseline) vs Spark local[2], same input")
    for column in ("loans", "engine", "wall s", "x PostgreSQL", "peak MB", "build ok"):
        table.add_column(column, justify="right")
    baseline = {t.rows: t.seconds for t in timings if t.engine == "postgres"}
    for t in timings:
        ratio = t.seconds / baseline[t.rows] if baseline.get(t.rows) else float("nan")
        table.add_row(f"{t.rows:,}", t.engine, f"{t.seconds:.1f}", f"{ratio:.2f}", f"{t.peak_mb:,.0f}", str(t.ok))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--work", type=Path, default=config.load().home / "bench" / "engines")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    timings: list[Timing] = []
    for rows in args.rows:
        timings += bench_size(rows, args.work)
        console.print(report(timings))
    console.print(f"logs under {args.work}")


if __name__ == "__main__":
    main()
