"""Batch landing into the real PostgreSQL: untouched, exactly once, nothing lost."""

from __future__ import annotations

import csv
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from ingestion.land import LandingError, land_file
from lendflow.raw_columns import RAW_COLUMNS
from lendflow.settings import Settings

pytestmark = pytest.mark.postgres


def _count(settings: Settings, query: str, *params: object) -> int:
    with psycopg.connect(settings.pg_dsn) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def test_csv_lands_every_row_untouched_and_once(postgres: Settings, small_sample: Path) -> None:
    path = small_sample / "loans.csv"
    first = land_file(path, postgres, progress=False)
    assert (first.rows_read, first.rows_landed, first.rows_rejected) == (2_000, 2_000, 0)
    assert _count(postgres, "select count(*) from raw.loans where _file_sha256 = %s", first.file_sha256) == 2_000

    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    term, title = rows[10]["Term"], rows[10]["Emp Title"]
    with psycopg.connect(postgres.pg_dsn) as conn:
        landed = conn.execute(
            'select "Term", "Emp Title" from raw.loans where _file_sha256 = %s and _row_number = 11',
            (first.file_sha256,),
        ).fetchone()
    assert landed == (term, title or None)  # leading space of " 36 months" kept

    again = land_file(path, postgres, progress=False)
    assert again.skipped
    assert _count(postgres, "select count(*) from raw.loans where _file_sha256 = %s", first.file_sha256) == 2_000


def test_parquet_renders_values_as_plain_text(postgres: Settings, small_sample: Path) -> None:
    path = small_sample / "loans.parquet"
    report = land_file(path, postgres, progress=False)
    assert report.rows_landed == pq.ParquetFile(path).metadata.num_rows
    with psycopg.connect(postgres.pg_dsn) as conn:
        pymnt_plans = {
            r[0]
            for r in conn.execute(
                'select distinct "Pymnt Plan" from raw.loans where _file_sha256 = %s', (report.file_sha256,)
            )
        }
    assert pymnt_plans <= {"true", "false"}


def test_ragged_and_undecodable_lines_are_rejected_with_reasons(postgres: Settings, tmp_path: Path) -> None:
    header = ",".join(f'"{name}"' for name in RAW_COLUMNS)
    good = ",".join(["x"] * 24)
    path = tmp_path / "dirty.csv"
    path.write_bytes(
        (header + "\n" + good + "\n" + "a,b,c\n" + good + "\n").encode() + b"\xff\xfe," + b",".join([b"y"] * 23) + b"\n"
    )
    report = land_file(path, postgres, progress=False)
    assert (report.rows_read, report.rows_landed, report.rows_rejected) == (4, 2, 2)
    with psycopg.connect(postgres.pg_dsn) as conn:
        reasons = dict(
            conn.execute(
                "select line_number, reason from raw.rejected_rows where file_sha256 = %s", (report.file_sha256,)
            ).fetchall()
        )
    assert reasons[3] == "expected 24 fields, found 3"
    assert reasons[5] == "not valid UTF-8"


def test_a_wrong_header_is_a_clear_error(postgres: Settings, tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(LandingError, match="missing"):
        land_file(path, postgres, progress=False)
