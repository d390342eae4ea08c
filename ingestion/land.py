"""Land a raw batch file (CSV or Parquet) into PostgreSQL's raw.loans, untouched.

Every value is kept as the text it arrived as (no trimming, no casting), with lineage
columns. One transaction per file: a crash leaves nothing half-landed, and a file already
landed (same SHA-256) is skipped. Lines that can't be read as a record go to
raw.rejected_rows with their raw text and reason; rows read = landed + rejected.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import sql

from ingestion.raw_tables import LINEAGE_COLUMNS, ensure_raw_tables
from lendflow.db import connect
from lendflow.progress import row_progress
from lendflow.raw_columns import RAW_COLUMNS
from lendflow.settings import Settings

log = logging.getLogger(__name__)

# Free-text fields can be long; the csv module's 128 KiB default would reject them.
csv.field_size_limit(16 * 1024 * 1024)


class LandingError(ValueError):
    """The file as a whole cannot be landed (unknown format, wrong header, unreadable)."""


@dataclass(frozen=True)
class Record:
    row_number: int
    values: tuple[str | None, ...]


@dataclass(frozen=True)
class Reject:
    line_number: int
    raw_text: str
    reason: str


@dataclass(frozen=True)
class LandingReport:
    source_file: str
    file_sha256: str
    batch_id: str
    rows_read: int
    rows_landed: int
    rows_rejected: int
    skipped: bool = False

    def summary(self) -> str:
        if self.skipped:
            return f"{self.source_file}: already landed (sha256 {self.file_sha256[:12]}), skipped"
        return (
            f"{self.source_file}: read {self.rows_read:,}, landed {self.rows_landed:,}, "
            f"rejected {self.rows_rejected:,} (batch {self.batch_id})"
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def header_order(header: list[str]) -> list[int]:
    """Positions of RAW_COLUMNS in a file's header; a LandingError if the names differ."""
    missing = [name for name in RAW_COLUMNS if name not in header]
    unknown = [name for name in header if name not in RAW_COLUMNS]
    if missing or unknown or len(header) != len(RAW_COLUMNS):
        raise LandingError(
            f"header does not match the 24 raw columns: missing {missing or 'none'}, unknown {unknown or 'none'}"
        )
    return [header.index(name) for name in RAW_COLUMNS]


class _LineRecorder:
    """Feeds the csv reader line by line and remembers the physical lines of each record."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.consumed: list[str] = []

    def __iter__(self) -> _LineRecorder:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.consumed.append(line)
        return line

    def take(self) -> str:
        text = "".join(self.consumed)
        self.consumed = []
        return text


def read_csv(path: Path) -> Iterator[Record | Reject]:
    """Records of a CSV file, in file order; malformed lines come out as Rejects.

    An empty field is landed as NULL (as PostgreSQL's COPY CSV does with unquoted empties).
    Bytes that are not UTF-8 reject their line rather than being guessed at.
    """
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
        recorder = _LineRecorder(handle)
        reader = csv.reader(recorder, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            return
        recorder.take()
        order = header_order(header)
        row_number = 0
        while True:
            first_line = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                row_number += 1
                yield Reject(first_line, _printable(recorder.take()), f"malformed CSV: {error}")
                continue
            row_number += 1
            raw_text = recorder.take()
            if not fields:
                row_number -= 1  # a blank line is not a record
                continue
            if len(fields) != len(RAW_COLUMNS):
                yield Reject(first_line, _printable(raw_text), f"expected 24 fields, found {len(fields)}")
            elif _has_bad_bytes(raw_text):
                yield Reject(first_line, _printable(raw_text), "not valid UTF-8")
            else:
                yield Record(row_number, tuple(fields[i] if fields[i] != "" else None for i in order))


def read_parquet(path: Path, batch_rows: int = 65_536) -> Iterator[Record]:
    """Records of a Parquet file, each value rendered to its plain text form by Arrow."""
    parquet = pq.ParquetFile(path)
    header_order(parquet.schema_arrow.names)
    row_number = 0
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=list(RAW_COLUMNS)):
        columns = [_as_text(batch.column(i)).to_pylist() for i in range(batch.num_columns)]
        for values in zip(*columns, strict=True):
            row_number += 1
            yield Record(row_number, values)


def _as_text(array: pa.Array) -> pa.Array:
    """Arrow's own text rendering: 80000.0 -> "80000", True -> "true", nulls stay null."""
    return array.cast(pa.string())


def _has_bad_bytes(text: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in text)


def _printable(text: str) -> str:
    """Raw text with undecodable bytes shown as \\xNN, and no NUL (PostgreSQL text can't hold one)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def read_records(path: Path) -> Iterator[Record | Reject]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path)
    if suffix in (".parquet", ".pq"):
        return read_parquet(path)
    raise LandingError(f"{path}: unsupported file type {suffix!r}; expected .csv or .parquet")


def land_file(path: Path, settings: Settings, *, progress: bool = True) -> LandingReport:
    """Land one file in one transaction; skip it if its checksum was landed before."""
    path = Path(path)
    if not path.is_file():
        raise LandingError(f"{path}: no such file")
    digest = file_sha256(path)
    batch_id = str(uuid.uuid4())
    source = str(path.resolve())
    with connect(settings) as conn:
        ensure_raw_tables(conn)
        conn.commit()
        # The lock makes two concurrent landings of one file land it once.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (digest,))
        if conn.execute("select 1 from raw.landed_files where file_sha256 = %s", (digest,)).fetchone():
            return LandingReport(source, digest, batch_id, 0, 0, 0, skipped=True)
        landed, rejects = _copy_records(conn, read_records(path), source, digest, batch_id, progress)
        _store_rejects(conn, rejects, source, digest, batch_id)
        report = LandingReport(source, digest, batch_id, landed + len(rejects), landed, len(rejects))
        conn.execute(
            "insert into raw.landed_files (file_sha256, source_file, batch_id, rows_read, rows_landed,"
            " rows_rejected) values (%s, %s, %s, %s, %s, %s)",
            (digest, source, batch_id, report.rows_read, report.rows_landed, report.rows_rejected),
        )
    log.info(report.summary())
    return report


_COPY_LOANS = sql.SQL("copy raw.loans ({columns}) from stdin").format(
    columns=sql.SQL(", ").join(
        [sql.Identifier(name) for name in RAW_COLUMNS] + [sql.Identifier(name) for name, _ in LINEAGE_COLUMNS[:4]]
    )
)


def _copy_records(conn, records, source, digest, batch_id, progress):  # type: ignore[no-untyped-def]
    landed = 0
    rejects: list[Reject] = []
    with (
        conn.cursor() as cursor,
        cursor.copy(_COPY_LOANS) as copy,
        row_progress(f"landing {Path(source).name}", enabled=progress) as advance,
    ):
        for item in records:
            if isinstance(item, Reject):
                rejects.append(item)
            else:
                copy.write_row((*item.values, source, digest, item.row_number, batch_id))
                landed += 1
            advance(1)
    return landed, rejects


def _store_rejects(conn, rejects: list[Reject], source: str, digest: str, batch_id: str) -> None:  # type: ignore[no-untyped-def]
    if not rejects:
        return
    with (
        conn.cursor() as cursor,
        cursor.copy(
            "copy raw.rejected_rows (source_file, file_sha256, line_number, raw_text, reason, batch_id) from stdin"
        ) as copy,
    ):
        for reject in rejects:
            copy.write_row((source, digest, reject.line_number, reject.raw_text, reject.reason, batch_id))
