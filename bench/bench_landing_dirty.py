"""Landing a dirty file: `lendflow land` of a file with 1% bad lines against psql's \\copy of the clean one.

    LENDFLOW_PG_DB=lendflow_bench .venv/bin/python bench/bench_landing_dirty.py [--rows 1000000] [--repeat 1]

The clean file is the generated sample (bench_landing.py's); the dirty copy has 1% of its
records replaced by bad lines, scattered evenly through the file and cycling through three
kinds: a ragged line (too few fields), bytes that are not UTF-8, a NUL byte. Side by side, in
turns, on the same PostgreSQL server:

* psql          `\\copy` of the clean file into a plain table of 24 text columns (the practical limit);
* land clean    `ingestion.land.land_file` of the clean file;
* land dirty    `ingestion.land.land_file` of the dirty file: every bad line rejected with its
                reason, every other row landed (checked: rows = landed + rejected).

Target (issue 20): the dirty file lands at >= 0.5x psql's speed on the clean file. The table
and bench/results/landing_dirty.json give seconds, rows/s and each rate over psql's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path

from bench_landing import console, measure, reset, run_psql, sample_file  # sets LENDFLOW_PG_DB's default
from rich.table import Table

from ingestion.land import land_file
from lendflow import settings as config
from lendflow.raw_tables import ensure_raw_tables_exist
from lendflow.services import postgres
from lendflow.settings import Settings

RESULTS = Path(__file__).parent / "results" / "landing_dirty.json"
BAD_SHARE = 0.01


def bad_line(kind: int, line: bytes) -> bytes:
    """A record spoilt one of three ways; each is rejected at landing."""
    if kind == 0:
        return b"ragged,line,with,five,fields\n"  # a wrong field count
    if kind == 1:
        return line.replace(b",", b",caf\xe9 ", 1)  # latin-1, not UTF-8
    return line.replace(b",", b",nul\x00here ", 1)  # PostgreSQL text cannot hold NUL


def dirty_copy(clean: Path, share: float = BAD_SHARE) -> tuple[Path, int]:
    """The clean file with every (1/share)-th record replaced by a bad line; and how many there are."""
    dirty = clean.with_name(f"{clean.stem}-dirty-{share:g}.csv")
    every = round(1 / share)
    bad = 0
    with open(clean, "rb") as source, open(dirty, "wb") as out:
        out.write(source.readline())  # the header
        for number, line in enumerate(source, start=1):
            if number % every == every // 2:  # scattered: mid-way between multiples
                line = bad_line(bad % 3, line)
                bad += 1
            out.write(line)
    return dirty, bad


def land_checked(settings: Settings, path: Path, rows: int, rejected: int) -> int:
    report = land_file(path, settings, progress=False)
    if (report.rows_read, report.rows_rejected) != (rows, rejected):
        raise SystemExit(
            f"{path.name}: read {report.rows_read:,}, rejected {report.rows_rejected:,};"
            f" expected {rows:,} and {rejected:,}"
        )
    return report.rows_read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the three (best kept)")
    args = parser.parse_args()

    settings = config.load()
    postgres.start(settings)
    ensure_raw_tables_exist(settings)
    clean = sample_file(settings, args.rows)
    dirty, bad = dirty_copy(clean)
    console.print(f"{dirty}: {bad:,} bad lines of {args.rows:,}")
    runners: dict[str, Callable[[], int]] = {
        "psql": lambda: run_psql(settings, clean),
        "land clean": lambda: land_checked(settings, clean, args.rows, 0),
        "land dirty": lambda: land_checked(settings, dirty, args.rows, bad),
    }
    times: dict[str, list[float]] = {name: [] for name in runners}
    for round_no in range(args.repeat):
        console.print(f"round {round_no + 1}/{args.repeat}")
        for name in list(runners) if round_no % 2 == 0 else list(reversed(runners)):
            reset(settings)
            times[name].append(measure(name, runners[name])[1])
    reset(settings)

    best = {name: min(seconds) for name, seconds in times.items()}
    psql_rate = args.rows / best["psql"]
    table = Table(
        title=f"landing {args.rows:,} rows, {bad:,} bad ({BAD_SHARE:.0%}) in the dirty file (best of {args.repeat})"
    )
    for column in ("method", "seconds", "rows/s", "rate / psql's"):
        table.add_column(column, justify="right")
    results = []
    for name, seconds in best.items():
        rate = args.rows / seconds
        table.add_row(name, f"{seconds:.2f}", f"{rate:,.0f}", f"{rate / psql_rate:.2f}x")
        results.append(
            {
                "method": name,
                "seconds": round(seconds, 3),
                "rows_per_s": round(rate),
                "vs_psql": round(rate / psql_rate, 3),
            }
        )
    console.print(table)
    console.print("target: land dirty >= 0.5x psql \\copy of the clean file")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "rows": args.rows,
                "bad_lines": bad,
                "repeat": args.repeat,
                "host": platform.node(),
                "load_average": os.getloadavg(),
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
