"""Benchmark: full `dbt build` on 1,000,000 generated loans vs an incremental run after 10,000 events.

    LENDFLOW_PG_DB=lendflow_dbt .venv/bin/python bench/bench_dbt.py [--rows 1000000] [--events 10000]

The database named by LENDFLOW_PG_DB is dropped and recreated (never the default `lendflow`).
Steps: land the generated Parquet file, run the Python steps, time `dbt build --full-refresh`
(the baseline), store N stream events in raw.loan_events as the consumer does, time `dbt build`
again (the incremental run), then once more with no new events (what an incremental run costs
whatever the events: the marts and tests that read every loan, dbt's own cost per node), then
the models alone (`dbt run`) and dbt's start and parse alone (`dbt ls`), and print them side by
side with the ratio to the baseline. With `--rows 1000 --events 100` the same runs measure
dbt's fixed cost for this project, which no incremental run can go below.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from ingestion.land import land_file
from lendflow import settings as config
from lendflow.dbt import dbt_target_path, run_dbt
from lendflow.raw_tables import ensure_raw_tables
from lendflow.services import postgres
from lendflow.settings import Settings
from python_steps import run as python_steps
from sample.files import write_sample

TOPIC = "loans_bench"


def timed(label: str, step: Callable[[], object], results: list[tuple[str, float]]) -> None:
    start = time.perf_counter()
    step()
    results.append((label, time.perf_counter() - start))
    Console(stderr=True).print(f"{label}: {results[-1][1]:.1f} s")


RESULTS = Path(__file__).parent / "results" / "dbt.json"


def slowest_nodes(settings: Settings, limit: int = 10) -> list[tuple[str, float]]:
    """The build's slowest nodes, from the run_results.json dbt just wrote."""
    results = json.loads((dbt_target_path(settings) / "run_results.json").read_text())["results"]
    timings = sorted(((r["unique_id"], r["execution_time"]) for r in results), key=lambda t: -t[1])
    return [(node, round(seconds, 2)) for node, seconds in timings[:limit]]


def own_warehouse(parser: argparse.ArgumentParser) -> Settings:
    """The settings of a benchmark that drops and recreates its database, PostgreSQL started.

    Refuses the default database: LENDFLOW_PG_DB must name one of the benchmark's own.
    """
    if os.environ.get("LENDFLOW_PG_DB", "lendflow") == "lendflow":
        parser.error("set LENDFLOW_PG_DB to a database of its own: this script drops and recreates it")
    settings = config.load()
    postgres.start(settings)
    return settings


def generated_sample(settings: Settings, rows: int, seed: int, stream_rows: int, name: str = "") -> Path:
    """The generated sample of `rows` loans and `stream_rows` stream records, written once and reused."""
    sample = settings.data_dir / (name or f"bench-{rows}-seed{seed}")
    if not (sample / "stream.parquet").exists():
        write_sample(sample, rows=rows, seed=seed, stream_rows=stream_rows)
    return sample


def fresh_database(settings: Settings) -> None:
    postgres.recreate_database(settings)  # with the roles and grants landing and dbt run as


def store_events(settings: Settings, stream_parquet: Path, events: int) -> None:
    """The stream sample's loans as JSON messages, stored the way the consumer stores them."""
    records = pq.read_table(stream_parquet).slice(0, events).to_pylist()
    with psycopg.connect(settings.pg_dsn) as conn:
        ensure_raw_tables(conn)
        with (
            conn.cursor() as cursor,
            cursor.copy(
                "copy raw.loan_events (topic, kafka_partition, kafka_offset, message_value, message_timestamp)"
                " from stdin"
            ) as copy,
        ):
            for offset, record in enumerate(records):
                copy.write_row((TOPIC, offset % 3, offset, json.dumps(record), "now"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    settings = own_warehouse(parser)
    sample = generated_sample(settings, args.rows, args.seed, args.events)
    fresh_database(settings)

    setup: list[tuple[str, float]] = []
    timed(f"land {args.rows:,} loans (Parquet)", lambda: land_file(sample / "loans.parquet", settings), setup)
    timed("python steps (titles, lambdas)", lambda: python_steps.run(settings), setup)
    builds: list[tuple[str, float]] = []
    timed("full dbt build (--full-refresh)", lambda: run_dbt(["build", "--full-refresh"], settings), builds)
    nodes = {"full": slowest_nodes(settings)}
    timed(f"store {args.events:,} stream events", lambda: store_events(settings, sample / "stream.parquet",
                                                                        args.events), setup)  # fmt: skip
    # As the pipeline does before each build: new titles join the title map, nothing is refitted.
    timed("python steps (new titles only)", lambda: python_steps.run(settings, refit=False), setup)
    timed(f"incremental dbt build after {args.events:,} events", lambda: run_dbt(["build"], settings), builds)
    nodes["incremental"] = slowest_nodes(settings)
    timed("the same, again with no new events", lambda: run_dbt(["build"], settings), builds)
    nodes["no new events"] = slowest_nodes(settings)
    # The floor under any incremental run: what dbt costs before it touches a row, and the
    # models alone without the tests that `dbt build` runs after them.
    timed("the models alone (dbt run), no new events", lambda: run_dbt(["run"], settings), builds)
    timed("dbt's start and parse alone (dbt ls, one model)", lambda: run_dbt(
        ["ls", "--quiet", "--select", "fct_loans", "--resource-type", "model"], settings), builds)  # fmt: skip

    table = Table(title=f"dbt on PostgreSQL, {args.rows:,} loans (baseline: the full build)")
    for column in ("run", "seconds", "ratio to full build"):
        table.add_column(column)
    baseline = builds[0][1]
    for label, seconds in builds:
        table.add_row(label, f"{seconds:.1f}", f"{seconds / baseline:.3f}")
    for label, seconds in setup:
        table.add_row(f"[dim]{label}[/dim]", f"{seconds:.1f}", "")
    Console().print(table)
    for build, timings in nodes.items():
        slowest = ", ".join(f"{node.split('.')[-1]} {seconds:.1f} s" for node, seconds in timings)
        Console().print(f"slowest nodes, {build} build: {slowest}")
    RESULTS.parent.mkdir(exist_ok=True)  # git-ignored: absent in a fresh clone
    RESULTS.write_text(json.dumps({
        "rows": args.rows, "events": args.events, "load_average": os.getloadavg(),
        "builds": dict(builds), "setup": dict(setup), "slowest_nodes": nodes,
    }, indent=2) + "\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
