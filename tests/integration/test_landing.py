"""Batch landing into the real PostgreSQL: untouched, exactly once, nothing lost."""

from __future__ import annotations

import csv
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest
from psycopg import sql

from ingestion.land import LandingError, Record, Reject, land_file, read_csv, read_records
from lendflow.raw_columns import RAW_COLUMNS
from lendflow.settings import Settings
from tests.fixtures.bad_inputs import GOOD, HEADER, CsvCase, csv_cases, message_cases

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


def test_a_file_of_mostly_bad_lines_spools_its_rejects_and_keeps_every_one(postgres: Settings, tmp_path: Path) -> None:
    # ~12 MiB of rejects: past the 8 MiB RejectSpool keeps in memory, so they go through its file.
    header = ",".join(f'"{name}"' for name in RAW_COLUMNS)
    good = ",".join(["x"] * 24)
    awkward = '"quoted, with comma and ""quotes""",back\\slash,' + "z" * 200
    lines = [header]
    for number in range(2, 50_002):
        lines.append(good if number % 1000 == 0 else f"{awkward},{number}")
    path = tmp_path / "mostly_bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = land_file(path, postgres, progress=False)
    assert (report.rows_read, report.rows_landed, report.rows_rejected) == (50_000, 50, 49_950)
    with psycopg.connect(postgres.pg_dsn) as conn:
        stored = conn.execute(
            "select count(*), count(distinct line_number), min(line_number), max(line_number),"
            " bool_and(raw_text = %s || ',' || line_number || E'\\n')"
            " from raw.rejected_rows where file_sha256 = %s",
            (awkward, report.file_sha256),
        ).fetchone()
    assert stored == (49_950, 49_950, 2, 50_001, True)


def test_lineage_defaults_hold_only_inside_a_landing(postgres: Settings) -> None:
    """raw.loans takes a file's source, checksum and batch from the landing transaction's
    settings; after it (even on the same connection) an insert must name its lineage."""
    import ingestion.land as land
    from ingestion.raw_tables import ensure_raw_tables_exist

    ensure_raw_tables_exist(postgres)
    lineage = land.Lineage("/data/a.csv", "ab" * 32, "00000000-0000-0000-0000-00000000000a")
    with psycopg.connect(postgres.pg_dsn) as conn:
        with conn.transaction(force_rollback=True):
            land._set_lineage(conn, lineage)
            conn.execute("insert into raw.loans (_row_number) values (7)")
            row = conn.execute(
                "select _source_file, _file_sha256, _row_number from raw.loans where _batch_id = %s",
                (lineage.batch_id,),
            )
            assert row.fetchall() == [("/data/a.csv", "ab" * 32, 7)]
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute("insert into raw.loans (_row_number) values (8)")


def test_two_concurrent_landings_of_one_file_land_it_once(
    postgres: Settings, small_sample: Path, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "twice.csv"  # not the sample itself: other tests land that
    path.write_bytes(b"".join((small_sample / "loans.csv").read_bytes().splitlines(keepends=True)[:501]))
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: land_file(path, postgres, progress=False), range(2)))
    assert sorted(r.skipped for r in reports) == [False, True]
    sha = reports[0].file_sha256
    assert _count(postgres, "select count(*) from raw.loans where _file_sha256 = %s", sha) == 500


def test_the_servers_row_count_checks_ours(
    postgres: Settings, small_sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a block ever send fewer rows than it counts, the landing fails and keeps nothing."""
    import ingestion.land as land

    path = tmp_path / "short.csv"  # not the sample itself: other tests land that
    path.write_bytes(b"".join((small_sample / "loans.csv").read_bytes().splitlines(keepends=True)[:1001]))
    numbered_lines = land.numbered_lines
    monkeypatch.setattr(land, "numbered_lines", lambda lines, first_row: numbered_lines(lines[:-1], first_row))
    with pytest.raises(LandingError, match="PostgreSQL stored 999 rows where 1,000 were sent"):
        land_file(path, postgres, progress=False)
    assert _count(postgres, "select count(*) from raw.landed_files where source_file = %s", str(path.resolve())) == 0


def test_a_wrong_header_is_a_clear_error(postgres: Settings, tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(LandingError, match="missing"):
        land_file(path, postgres, progress=False)


# --- the bad-input corpus ------------------------------------------------------------------
CSV_CASES = csv_cases()


@pytest.mark.parametrize("case", CSV_CASES, ids=[c.name for c in CSV_CASES])
def test_bad_csv_inputs_are_landed_as_is_or_rejected_with_a_reason(
    postgres: Settings, tmp_path: Path, case: CsvCase
) -> None:
    path = tmp_path / "case.csv"
    path.write_bytes(case.content)
    if case.expected is None:
        with pytest.raises(LandingError):
            land_file(path, postgres, progress=False)
        return
    report = land_file(path, postgres, progress=False)
    assert (report.rows_read, report.rows_landed, report.rows_rejected) == case.expected
    assert report.rows_read == report.rows_landed + report.rows_rejected
    with psycopg.connect(postgres.pg_dsn) as conn:
        landed = conn.execute(
            sql.SQL("select _row_number, {} from raw.loans where _batch_id = %s order by _row_number").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in RAW_COLUMNS)
            ),
            (report.batch_id,),
        ).fetchall()
        rejected = conn.execute(
            "select line_number, reason, raw_text from raw.rejected_rows where batch_id = %s order by line_number",
            (report.batch_id,),
        ).fetchall()
    # The fast path (Arrow, COPY) agrees record for record with the exact path (Python's csv).
    exact = list(read_csv(path))
    assert [(r.row_number, *r.values) for r in exact if isinstance(r, Record)] == [tuple(row) for row in landed]
    assert [(r.line_number, r.reason) for r in exact if isinstance(r, Reject)] == [(n, why) for n, why, _ in rejected]
    for line_number, fragment in (case.reasons or {}).items():
        assert fragment in dict((n, why) for n, why, _ in rejected)[line_number]
    by_row = {row[0]: dict(zip(RAW_COLUMNS, row[1:], strict=True)) for row in landed}
    for (row_number, column), text in (case.values or {}).items():
        assert by_row[row_number][column] == text


def test_the_corpus_is_big_enough() -> None:
    assert len(CSV_CASES) + len(message_cases()) >= 30


def test_fast_path_equals_exact_path_on_generated_data(postgres: Settings, small_sample: Path, tmp_path: Path) -> None:
    """Generated loans with some of every kind of dirt mixed in: block by block, both paths meet."""
    lines = (small_sample / "loans.csv").read_bytes().splitlines(keepends=True)
    dirty = [lines[0]]
    for i, line in enumerate(lines[1:], start=1):
        dirty.append(line)
        if i % 97 == 0:
            dirty.append([b"a,b\n", b"caf\xe9," + line, b'"x"y,' + line, b"\n", line.replace(b"\n", b"\r\n")][i % 5])
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"".join(dirty))
    import ingestion.land as land

    # Small blocks, so that clean blocks (fast path) and dirty ones (exact path) alternate.
    chunks = list(land.csv_source(path, block_bytes=16_384).chunks)
    assert len(chunks) > 10
    report = land_file(path, postgres, progress=False)
    exact = list(read_csv(path))
    records = [r for r in exact if isinstance(r, Record)]
    assert report.rows_landed == len(records)
    assert report.rows_rejected == len(exact) - len(records) > 0
    with psycopg.connect(postgres.pg_dsn) as conn:
        landed = conn.execute(
            sql.SQL("select _row_number, {} from raw.loans where _batch_id = %s order by _row_number").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in RAW_COLUMNS)
            ),
            (report.batch_id,),
        ).fetchall()
    assert [tuple(row) for row in landed] == [(r.row_number, *r.values) for r in records]


def test_parquet_equals_arrow_text_rendering(postgres: Settings, small_sample: Path) -> None:
    path = small_sample / "loans.parquet"
    expected = [(r.row_number, *r.values) for r in read_records(path) if isinstance(r, Record)]
    report = land_file(path, postgres, progress=False)
    if report.skipped:  # landed by an earlier test: look up its batch
        with psycopg.connect(postgres.pg_dsn) as conn:
            row = conn.execute("select batch_id from raw.landed_files where file_sha256 = %s", (report.file_sha256,))
            batch_id = str(row.fetchone()[0])  # type: ignore[index]
    else:
        batch_id = report.batch_id
    with psycopg.connect(postgres.pg_dsn) as conn:
        landed = conn.execute(
            sql.SQL("select _row_number, {} from raw.loans where _batch_id = %s order by _row_number").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in RAW_COLUMNS)
            ),
            (batch_id,),
        ).fetchall()
    assert [tuple(row) for row in landed] == expected


def test_landing_as_the_loader_role(postgres: Settings, tmp_path: Path) -> None:
    """The least-privilege loader can land (the owner made the tables) and cannot change what landed."""
    from lendflow.services import roles

    if set(roles.bootstrap(postgres)) != {"loader", "transformer", "reader"}:
        pytest.skip("no least-privilege roles on this warehouse")
    path = tmp_path / "loader.csv"
    path.write_bytes(HEADER + b"\n" + GOOD + b"\n" + GOOD + b"\na,b\n")
    report = land_file(path, postgres, progress=False, role="loader")
    assert (report.rows_read, report.rows_landed, report.rows_rejected) == (3, 2, 1)
    assert land_file(path, postgres, progress=False, role="loader").skipped
    with psycopg.connect(postgres.role_dsn("loader")) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("delete from raw.loans where _batch_id = %s", (report.batch_id,))


def test_a_database_nobody_set_up_for_the_loader_gets_a_clear_message(postgres: Settings, small_sample: Path) -> None:
    import dataclasses

    bare = dataclasses.replace(postgres, pg_db=f"{postgres.pg_db}_bare")
    admin_dsn = postgres.pg_dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(bare.pg_db)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(bare.pg_db)))  # no bootstrap
    try:
        with pytest.raises(LandingError, match="lendflow up"):
            land_file(small_sample / "loans.csv", bare, progress=False)
        assert land_file(small_sample / "loans.csv", bare, progress=False, role=None).rows_landed == 2_000
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(bare.pg_db)))
