"""Batch landing into the real PostgreSQL: untouched, exactly once, nothing lost."""

from __future__ import annotations

import csv
import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from psycopg import sql

import ingestion.csv_blocks as csv_blocks
import ingestion.land as land
from ingestion.land import OVERSIZE_REASON, VALUE_LIMIT, LandingError, Record, Reject, land_file, read_csv, read_records
from lendflow.raw_columns import RAW_COLUMNS
from lendflow.settings import Settings
from sample.table import generate_table
from tests.fixtures.bad_inputs import GOOD, HEADER, CsvCase, csv_cases, message_cases, row

pytestmark = pytest.mark.postgres


def _count(settings: Settings, query: str, *params: object) -> int:
    with psycopg.connect(settings.pg_dsn) as conn:
        found = conn.execute(query, params).fetchone()
    assert found is not None
    return int(found[0])


def _landed(settings: Settings, batch_id: str) -> list[tuple[object, ...]]:
    """A batch's rows as (row number, the 24 raw values), in row order."""
    with psycopg.connect(settings.pg_dsn) as conn:
        rows = conn.execute(
            sql.SQL("select _row_number, {} from raw.loans where _batch_id = %s order by _row_number").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in RAW_COLUMNS)
            ),
            (batch_id,),
        ).fetchall()
    return [tuple(r) for r in rows]


def _rejected(settings: Settings, batch_id: str) -> list[tuple[int, str]]:
    """A batch's rejects as (line number, reason), in line order."""
    with psycopg.connect(settings.pg_dsn) as conn:
        rows = conn.execute(
            "select line_number, reason from raw.rejected_rows where batch_id = %s order by line_number", (batch_id,)
        ).fetchall()
    return [(int(n), str(why)) for n, why in rows]


def _exact(items: Iterable[Record | Reject]) -> tuple[list[tuple[object, ...]], list[tuple[int, str]]]:
    """What the exact path reads: landed rows and rejects, as _landed and _rejected give them."""
    items = list(items)
    records = [(r.row_number, *r.values) for r in items if isinstance(r, Record)]
    return records, [(r.line_number, r.reason) for r in items if isinstance(r, Reject)]


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
    from lendflow.raw_tables import ensure_raw_tables_exist

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

    path = tmp_path / "short.csv"  # not the sample itself: other tests land that
    path.write_bytes(b"".join((small_sample / "loans.csv").read_bytes().splitlines(keepends=True)[:1001]))
    numbered_lines = csv_blocks.numbered_lines
    monkeypatch.setattr(csv_blocks, "numbered_lines", lambda lines, first_row: numbered_lines(lines[:-1], first_row))
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
    landed, rejected = _landed(postgres, report.batch_id), _rejected(postgres, report.batch_id)
    # The fast path (Arrow, COPY) agrees record for record with the exact path (Python's csv).
    assert _exact(read_csv(path)) == (landed, rejected)
    for line_number, fragment in (case.reasons or {}).items():
        assert fragment in dict(rejected)[line_number]
    by_row = {values[0]: dict(zip(RAW_COLUMNS, values[1:], strict=True)) for values in landed}
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

    # Small blocks, so that clean blocks (fast path) and dirty ones (exact path) alternate.
    chunks = list(land.csv_source(path, block_bytes=16_384).chunks)
    assert len(chunks) > 10
    report = land_file(path, postgres, progress=False)
    records, rejects = _exact(read_csv(path))
    assert (report.rows_landed, report.rows_rejected) == (len(records), len(rejects))
    assert rejects
    assert (_landed(postgres, report.batch_id), _rejected(postgres, report.batch_id)) == (records, rejects)


def test_parquet_equals_arrow_text_rendering(postgres: Settings, small_sample: Path) -> None:
    path = small_sample / "loans.parquet"
    expected, _ = _exact(read_records(path))
    report = land_file(path, postgres, progress=False)
    if report.skipped:  # landed by an earlier test: look up its batch
        with psycopg.connect(postgres.pg_dsn) as conn:
            found = conn.execute("select batch_id from raw.landed_files where file_sha256 = %s", (report.file_sha256,))
            batch_id = str(found.fetchone()[0])  # type: ignore[index]
    else:
        batch_id = report.batch_id
    assert _landed(postgres, batch_id) == expected


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


# --- dirty lines: only they take the exact path ---------------------------------------------
def _small_blocks(monkeypatch: pytest.MonkeyPatch, block_bytes: int = 65_536) -> None:
    """Land with small blocks, so that a small file has a first, middle and last block."""
    monkeypatch.setattr(land, "csv_source", functools.partial(land.csv_source, block_bytes=block_bytes))


def _count_exact_lines(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every line the exact path (parse_lines) reads from now on."""
    read: list[str] = []
    parse_lines = land.parse_lines

    def tapped(lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            read.append(line)
            yield line

    monkeypatch.setattr(csv_blocks, "parse_lines", lambda lines, *a, **k: parse_lines(tapped(lines), *a, **k))
    return read


def test_bad_lines_in_a_middle_and_the_last_block_go_alone_down_the_exact_path(
    postgres: Settings,
    small_sample: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rows 1000-1001 (a middle block) and 2000 (the file's last line, in its last block) are bad:
    those three lines, and no other, are read by the exact path; the blocks' other lines go to
    COPY as they are, every row keeps its number, every reject its line."""
    header, *records = (small_sample / "loans.csv").read_bytes().splitlines(keepends=True)
    spoilt = {
        1000: b"a,b,c\n",
        1001: records[1000].replace(b",", b",\x00", 1),
        2000: records[1999].replace(b'"', b'"\xe9', 1),
    }
    for row_number, line in spoilt.items():
        records[row_number - 1] = line
    path = tmp_path / "dirty_blocks.csv"
    path.write_bytes(header + b"".join(records))
    _small_blocks(monkeypatch)
    blocks = list(land.record_blocks(open(path, "rb"), 65_536))  # noqa: SIM115
    first_lines = [1 + sum(b.count(b"\n") for b in blocks[:i]) for i in range(len(blocks) + 1)]
    in_block = {line: next(i for i in range(len(blocks)) if line <= first_lines[i + 1]) for line in (1001, 2001)}
    assert 0 < in_block[1001] < len(blocks) - 1 and in_block[2001] == len(blocks) - 1 > 4
    exact_lines = _count_exact_lines(monkeypatch)
    with caplog.at_level(logging.INFO, logger="ingestion.land"):
        report = land_file(path, postgres, progress=False)
    assert (report.rows_read, report.rows_landed, report.rows_rejected) == (2_000, 1_997, 3)
    assert len(exact_lines) == 3
    assert "validating every block" not in caplog.text  # PostgreSQL refused nothing: no second pass
    landed, rejected = _landed(postgres, report.batch_id), _rejected(postgres, report.batch_id)
    assert [values[0] for values in landed] == [n for n in range(1, 2_001) if n not in spoilt]
    assert rejected == [
        (1001, "expected 24 fields, found 3"),
        (1002, "contains a NUL byte (PostgreSQL text cannot hold it)"),
        (2001, "not valid UTF-8"),
    ]
    monkeypatch.undo()
    assert _exact(read_csv(path)) == (landed, rejected)


# --- one rule for oversize values, on every path ---------------------------------------------
ROUTES: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "lines vetted here": lambda _: None,
    "blocks read by Arrow": lambda mp: mp.setattr(csv_blocks, "_vetted_chunk", lambda *_: None),
    "blocks read by the exact path": lambda mp: (
        mp.setattr(csv_blocks, "_vetted_chunk", lambda *_: None),
        mp.setattr(csv_blocks, "parse_block_fast", lambda *_: None),
    ),
}


@pytest.mark.parametrize("route", ROUTES)
def test_an_oversize_value_is_treated_alike_on_every_path(
    postgres: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """A 5 MB value lands untouched, a value over VALUE_LIMIT rejects its record with
    OVERSIZE_REASON, whichever path its block takes."""
    five_mb, over = "y" * 5_000_000, "z" * (VALUE_LIMIT + 1)
    path = tmp_path / f"oversize-{route.replace(' ', '_')}.csv"
    # The route in the last row: a file of its own (same bytes = same checksum = landed once).
    path.write_bytes(b"\n".join([HEADER, GOOD, row((23, five_mb)), row((1, over)), row((1, route)), b""]))
    ROUTES[route](monkeypatch)
    report = land_file(path, postgres, progress=False)
    assert (report.rows_read, report.rows_landed, report.rows_rejected) == (4, 3, 1)
    landed, rejected = _landed(postgres, report.batch_id), _rejected(postgres, report.batch_id)
    assert rejected == [(4, OVERSIZE_REASON)]
    assert landed[1][0] == 2 and landed[1][-1] == five_mb
    assert _exact(read_csv(path)) == (landed, rejected)


def test_parquet_rows_that_cannot_land_follow_the_csv_rules(postgres: Settings, tmp_path: Path) -> None:
    table = generate_table(4, seed=11)
    titles = table.column("Emp Title").to_pylist()
    titles[1], titles[2] = "z" * (VALUE_LIMIT + 1), "Tea\x00cher"
    table = table.set_column(table.schema.get_field_index("Emp Title"), "Emp Title", pa.array(titles, pa.string()))
    path = tmp_path / "unlandable.parquet"
    pq.write_table(table, path)
    report = land_file(path, postgres, progress=False)
    assert (report.rows_read, report.rows_landed, report.rows_rejected) == (4, 2, 2)
    rejected = _rejected(postgres, report.batch_id)
    assert rejected == [(2, OVERSIZE_REASON), (3, "contains a NUL byte")]
    assert _exact(read_records(path)) == (_landed(postgres, report.batch_id), rejected)


# --- corrupt Parquet: a clear LandingError, nothing landed ------------------------------------
def _varint(n: int) -> bytes:
    """n as a Thrift compact-protocol i64 (zigzag varint)."""
    value, out = n << 1, bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def _footer_saying(data: bytes, old: int, new: int, count: int) -> bytes:
    """The file with the footer's first `count` i64 fields equal to old (header byte 0x16) set to new."""
    length = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - length
    footer = data[start:-8].replace(b"\x16" + _varint(old), b"\x16" + _varint(new), count)
    assert len(footer) == length and footer != data[start:-8]
    return data[:start] + footer + data[-8:]


def _flip(data: bytes, at: int, n: int = 16) -> bytes:
    return data[:at] + bytes(b ^ 0xFF for b in data[at : at + n]) + data[at + n :]


def _third_group_chunk(path: Path) -> tuple[int, int]:
    """Where the Description column's chunk of the third row group starts (its first page's header), and its size."""
    column = pq.ParquetFile(path).metadata.row_group(2).column(len(RAW_COLUMNS) - 1)
    start = column.dictionary_page_offset if column.has_dictionary_page else column.data_page_offset
    return start, column.total_compressed_size


CORRUPTIONS: dict[str, tuple[Callable[[bytes, Path], bytes], str]] = {
    "truncated to half": (lambda data, _: data[: len(data) // 2], "no magic bytes PAR1 at its end"),
    "last bytes cut": (lambda data, _: data[:-3], "no magic bytes PAR1 at its end"),
    "wrong magic at the start": (lambda data, _: b"PAR0" + data[4:], "no magic bytes PAR1 at its start"),
    "wrong magic at the end": (lambda data, _: data[:-4] + b"1RAP", "no magic bytes PAR1 at its end"),
    "footer overwritten": (lambda data, _: _flip(data, len(data) - 200, 100), "unreadable Parquet footer"),
    "broken page header": (
        lambda data, p: _flip(data, _third_group_chunk(p)[0]),
        "corrupt Parquet data after row 2,000",
    ),
    "corrupted column chunk": (
        lambda data, p: _flip(data, sum(_third_group_chunk(p)) - 40),
        "corrupt Parquet data after row 2,000",
    ),
    "footer promises more rows": (lambda data, _: _footer_saying(data, 5_000, 6_000, 1), "promises 6,000 rows"),
    "row groups promise more rows": (lambda data, _: _footer_saying(data, 1_000, 1_200, -1), "its row groups 6,000"),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_corrupt_parquet_file_is_a_clear_error_with_nothing_landed(
    postgres: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corruption: str
) -> None:
    good = tmp_path / "good.parquet"
    # Five row groups of 1,000, page CRCs written; batches of 500, so that two row groups are
    # already in the COPY when a page of the third turns out corrupt.
    pq.write_table(generate_table(5_000, seed=13), good, row_group_size=1_000, write_page_checksum=True)
    monkeypatch.setattr(land, "parquet_source", functools.partial(land.parquet_source, batch_rows=500))
    spoil, message = CORRUPTIONS[corruption]
    path = tmp_path / f"{corruption.replace(' ', '_')}.parquet"
    path.write_bytes(spoil(good.read_bytes(), good))
    with pytest.raises(LandingError, match=message) as raised:
        land_file(path, postgres, progress=False)
    assert str(path) in str(raised.value)
    source = str(path.resolve())
    for query in (
        "select count(*) from raw.loans where _source_file = %s",
        "select count(*) from raw.landed_files where source_file = %s",
        "select count(*) from raw.rejected_rows where source_file = %s",
    ):
        assert _count(postgres, query, source) == 0


def test_a_parquet_file_with_other_columns_is_a_clear_error(postgres: Settings, tmp_path: Path) -> None:
    path = tmp_path / "columns.parquet"
    pq.write_table(generate_table(3, seed=1).drop_columns(["Grade"]).append_column("Colour", pa.array(["a"] * 3)), path)
    with pytest.raises(LandingError, match=r"columns\.parquet: header does not match .*missing \['Grade'\].*Colour"):
        land_file(path, postgres, progress=False)


def test_the_cli_names_the_corrupt_file_without_a_traceback(postgres: Settings, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    path = tmp_path / "broken.parquet"
    pq.write_table(generate_table(50, seed=2), path)
    path.write_bytes(path.read_bytes()[:-100])
    env = {**os.environ, "LENDFLOW_PG_DB": postgres.pg_db, "COLUMNS": "1000"}  # rich wraps at the width
    done = subprocess.run(
        [sys.executable, "-m", "cli", "land", str(path)], env=env, capture_output=True, text=True, timeout=120
    )
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, output
    assert "broken.parquet" in output and "no magic bytes PAR1" in output and "Traceback" not in output
