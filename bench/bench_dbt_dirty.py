"""Benchmark: the full `dbt build` of a warehouse whose file has 1% dirty values, beside a clean one.

    .venv/bin/python bench/bench_dbt_dirty.py [--rows 1000000] [--dirty-share 0.01] [--repeat 2]

Two databases, `<LENDFLOW_PG_DB>_clean` and `<LENDFLOW_PG_DB>_dirty` (dropped and recreated; the
default base name is lendflow_bench), get the same generated CSV file, the second with one value
replaced in a share of its rows, scattered through it (numbers out of range or not numbers,
impossible dates and terms, unknown categories, oversize text: what validation quarantines).
Each is landed, the Python steps run, and `dbt build --full-refresh` is timed; the two builds
alternate, `--repeat` times. Target: the dirty build costs at most 1.1x the clean one.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import random
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ingestion.land import land_file
from lendflow import settings as config
from lendflow.dbt import run_dbt
from lendflow.services import postgres
from lendflow.settings import Settings
from python_steps import run as python_steps
from sample.files import write_sample

RESULTS = Path(__file__).parent / "results" / "dbt_dirty.json"
# (raw column, dirty value): each quarantines its record for a different rule
DIRT = [
    ("Annual Inc", "1e309"),
    ("Annual Inc", "a lot"),
    ("Loan Id", "9223372036854775808"),
    ("Loan Amount", "-500"),
    ("Int Rate", "13.49"),
    ("Term", " 0 months"),
    ("Grade", "99"),
    ("Issue Date", "31 February 2015"),
    ("Verification Status", "Verifed"),
    ("Addr State", "ZZ"),
    ("Purpose", "yacht"),
    ("Emp Title", "x" * 600),
]


def dirty_copy(clean: Path, out: Path, share: float, seed: int = 5) -> int:
    """The clean CSV with one dirty value in `share` of its rows; the number of rows made dirty."""
    rng = random.Random(seed)
    dirtied = 0
    with clean.open(newline="", encoding="utf-8") as source, out.open("w", newline="", encoding="utf-8") as sink:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(sink, fieldnames=reader.fieldnames or [], quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writeheader()
        for row in reader:
            if rng.random() < share:
                column, value = rng.choice(DIRT)
                row[column] = value
                dirtied += 1
            writer.writerow(row)
    return dirtied


def build_seconds(settings: Settings, path: Path) -> float:
    postgres.recreate_database(settings)
    land_file(path, settings, progress=False)
    python_steps.run(settings)
    start = time.perf_counter()
    run_dbt(["build", "--full-refresh", "--quiet"], settings)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dirty-share", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    console = Console(stderr=True)
    base = config.load()
    name = os.environ.get("LENDFLOW_PG_DB", "lendflow_bench")
    if name == "lendflow":
        parser.error("set LENDFLOW_PG_DB to a scratch name: the benchmark drops its databases")
    data = base.data_dir / f"bench-dirty-{args.rows}"
    clean = data / "loans.csv"
    if not clean.is_file():
        console.print(f"generating {args.rows:,} loans into {data}")
        write_sample(data, rows=args.rows, seed=42, stream_rows=0, formats=("csv",), progress=True)
    dirty = data / "loans-dirty.csv"
    dirtied = dirty_copy(clean, dirty, args.dirty_share)
    targets = {
        "clean": (dataclasses.replace(base, pg_db=f"{name}_clean"), clean),
        "dirty": (dataclasses.replace(base, pg_db=f"{name}_dirty"), dirty),
    }
    seconds: dict[str, list[float]] = {label: [] for label in targets}
    for _ in range(args.repeat):
        for label, (settings, path) in targets.items():
            seconds[label].append(build_seconds(settings, path))
            console.print(f"{label}: dbt build --full-refresh {seconds[label][-1]:.1f} s")
    clean_median, dirty_median = (statistics.median(seconds[label]) for label in ("clean", "dirty"))
    table = Table(title=f"dbt build --full-refresh, {args.rows:,} loans, {dirtied:,} with a dirty value")
    for column in ("warehouse", "runs (s)", "median (s)", "vs clean"):
        table.add_column(column)
    for label, median in (("clean", clean_median), ("dirty", dirty_median)):
        runs = ", ".join(f"{s:.1f}" for s in seconds[label])
        table.add_row(label, runs, f"{median:.1f}", f"{median / clean_median:.2f}x")
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"rows": args.rows, "dirtied": dirtied, "seconds": seconds}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
