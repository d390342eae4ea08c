"""Benchmark: what the aggregate marts cost in an incremental build after a few events.

    LENDFLOW_PG_DB=lendflow_marts .venv/bin/python bench/bench_marts.py [--rows 30000] [--events 100]
        [--project-dir DIR]

The database named by LENDFLOW_PG_DB is dropped and recreated. Steps: land the generated
Parquet file, run the Python steps, `dbt build --full-refresh`, store N stream events, then an
incremental `dbt run`; prints, from that run's run_results.json, the seconds of each node that
aggregates loans (the answers `rpt_*`, the dashboard's `dash_*`, and the tables they read in
models/intermediate/aggregates) and their sum. `--project-dir` measures another checkout of
the dbt project (an older commit's, through `git worktree add`) on the same data.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench_dbt import fresh_database, generated_sample, own_warehouse, store_events
from rich.console import Console
from rich.table import Table

from ingestion.land import land_file
from lendflow.dbt import run_dbt
from lendflow.settings import DBT_PROJECT_DIR
from python_steps import run as python_steps

# int_loan_group_keys: what int_loan_contributions was called in older checkouts (--project-dir)
AGGREGATE_PREFIXES = ("dash_", "rpt_", "int_loan_contributions", "int_loan_group_keys", "int_loan_totals_",
                      "int_default_totals_", "int_loan_amount_quartiles_")  # fmt: skip


def aggregate_timings(run_results: Path) -> dict[str, float]:
    """Seconds per aggregating model in a dbt run, from its run_results.json."""
    results = json.loads(run_results.read_text())["results"]
    return {
        r["unique_id"].split(".")[-1]: r["execution_time"]
        for r in results
        if r["unique_id"].startswith("model.") and r["unique_id"].split(".")[-1].startswith(AGGREGATE_PREFIXES)
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--project-dir", type=Path, default=DBT_PROJECT_DIR)
    args = parser.parse_args()
    settings = own_warehouse(parser)
    sample = generated_sample(settings, args.rows, args.seed, args.events)
    fresh_database(settings)
    project = ["--project-dir", str(args.project_dir.resolve())]
    with tempfile.TemporaryDirectory() as target:
        land_file(sample / "loans.parquet", settings, progress=False)
        python_steps.run(settings)
        run_dbt(["build", "--full-refresh", "--exclude", "test_type:unit", *project, "--target-path", target], settings)
        store_events(settings, sample / "stream.parquet", args.events)
        python_steps.run(settings, refit=False)
        run_dbt(["run", *project, "--target-path", target], settings)
        timings = aggregate_timings(Path(target) / "run_results.json")

    table = Table(title=f"Aggregate marts in an incremental `dbt run` after {args.events:,} events, "
                        f"{args.rows:,} loans ({args.project_dir})")  # fmt: skip
    table.add_column("model")
    table.add_column("seconds", justify="right")
    for model, seconds in sorted(timings.items(), key=lambda t: -t[1]):
        table.add_row(model, f"{seconds:.2f}")
    table.add_row("[bold]total[/bold]", f"[bold]{sum(timings.values()):.2f}[/bold]")
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
