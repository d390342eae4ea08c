"""The record format every reader of a raw file shares: landing (ingestion.land), Spark
staging (spark_jobs.staging) and the producer (streaming.producer) agree on what a record, a
rejected line and the text of a value are because they all read files through this module.

All paths give the same values: an empty field, quoted or not, is NULL (Python's csv module
cannot tell them apart, and few writers mean a difference); whitespace, quotes and newlines
inside values are kept. They also share one rule for long values (VALUE_LIMIT): a value of up
to 16 Mi characters lands as it is, a record holding a longer one is rejected.

Parquet: Arrow reads it in batches, renders every value as text, and the rows PostgreSQL
cannot hold (a NUL byte; a value over VALUE_LIMIT, as for CSV) are rejected. A corrupt file
(truncated, wrong magic bytes, an unreadable footer or page, a page failing its CRC, a footer
that promises other rows than its pages hold) is a LandingError naming the file and the fault,
and its transaction keeps nothing of it.

Python's strict csv module reads a CSV file record by record here (the exact path: the fast
path of ingestion.csv_blocks sends it the blocks it cannot vouch for).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lendflow.raw_columns import RAW_COLUMNS

# The one rule for long values, on every path: a value of up to 16 Mi characters lands as it is;
# a record holding a longer one is rejected with OVERSIZE_REASON. Python's csv module (the exact
# path) enforces it; the fast paths send every line longer than the limit to the exact path
# (a shorter line cannot hold a longer value), so a 5 MB description lands and a 20 MB one is
# rejected whichever path its block takes.
VALUE_LIMIT = 16 * 1024 * 1024
OVERSIZE_REASON = "a value longer than 16 MiB (the landing's limit per value)"
csv.field_size_limit(VALUE_LIMIT)


PARQUET_BATCH_ROWS = 65_536


class LandingError(ValueError):
    """The file as a whole cannot be landed (unknown format, wrong header, unreadable, database down)."""


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


@dataclass(frozen=True)
class Lineage:
    """What every row of a file shares (raw.loans gets it from the transaction's settings)."""

    source_file: str
    file_sha256: str
    batch_id: str


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


# --- the exact path: Python's strict csv module, record by record --------------------------
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


def parse_lines(
    lines: Iterable[str], order: list[int], first_line: int = 1, first_row: int = 1
) -> Iterator[Record | Reject]:
    """Records of CSV lines (decoded with surrogateescape), malformed ones as Rejects.

    first_line: the file's line number of the first line; first_row: the first record's number.
    """
    recorder = _LineRecorder(lines)
    reader = csv.reader(recorder, strict=True)
    row_number = first_row - 1
    while True:
        line_number = first_line + reader.line_num
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            row_number += 1
            yield Reject(line_number, _printable(recorder.take()), _csv_error_reason(error))
            continue
        raw_text = recorder.take()
        if not fields:
            continue  # a blank line is not a record
        row_number += 1
        if len(fields) != len(RAW_COLUMNS):
            yield Reject(line_number, _printable(raw_text), f"expected 24 fields, found {len(fields)}")
        elif _has_bad_bytes(raw_text):
            yield Reject(line_number, _printable(raw_text), "not valid UTF-8")
        elif "\x00" in raw_text:
            yield Reject(line_number, _printable(raw_text), "contains a NUL byte (PostgreSQL text cannot hold it)")
        else:
            yield Record(row_number, tuple(fields[i] if fields[i] != "" else None for i in order))


def _csv_error_reason(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return OVERSIZE_REASON
    return f"malformed CSV: {error}"


def read_csv(path: Path) -> Iterator[Record | Reject]:
    """Records of a CSV file, in file order, through the exact path (malformed lines as Rejects).

    An empty field is landed as NULL (as PostgreSQL's COPY CSV does with unquoted empties).
    Bytes that are not UTF-8 reject their line rather than being guessed at.
    """
    # utf-8-sig: a byte-order mark before the header is not part of the first column's name.
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        recorder = _LineRecorder(handle)
        try:
            header = next(csv.reader(recorder, strict=True))
        except StopIteration:
            return
        except csv.Error as error:
            raise LandingError(f"{path}: unreadable header: {error}") from error
        header_lines = recorder.take().count("\n") or 1
        order = file_header_order(path, header)
        yield from parse_lines(handle, order, first_line=header_lines + 1)


def read_parquet(path: Path, batch_rows: int = PARQUET_BATCH_ROWS) -> Iterator[Record | Reject]:
    """Records of a Parquet file, each value rendered to its plain text form by Arrow; the rows
    PostgreSQL could not hold (see parquet_rejects) as Rejects."""
    parquet = open_parquet(path)
    row_number = 0
    for table in parquet_text_batches(path, parquet, batch_rows):
        rejects = {r.line_number: r for r in parquet_rejects(table, row_number + 1)}
        for values in zip(*(column.to_pylist() for column in table.columns), strict=True):
            row_number += 1
            yield rejects.get(row_number) or Record(row_number, values)


def _as_text(array: pa.Array) -> pa.Array:
    """Arrow's own text rendering: 80000.0 -> "80000", True -> "true", nulls stay null."""
    return array.cast(pa.string())


def file_header_order(path: Path, header: list[str]) -> list[int]:
    """header_order, its LandingError naming the file."""
    try:
        return header_order(header)
    except LandingError as error:
        raise LandingError(f"{path}: {error}") from None


def _has_bad_bytes(text: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in text)


def _printable(text: str) -> str:
    """Raw text with undecodable bytes shown as \\xNN, and no NUL (PostgreSQL text can't hold one)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def read_records(path: Path) -> Iterator[Record | Reject]:
    """Every record of a file, one by one (the exact path; Spark staging reads files this way)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path)
    if suffix in (".parquet", ".pq"):
        return read_parquet(path)
    raise LandingError(f"{path}: unsupported file type {suffix!r}; expected .csv or .parquet")


PARQUET_MAGIC = b"PAR1"


def open_parquet(path: Path) -> pq.ParquetFile:
    """A Parquet file with its footer read and its columns checked; a LandingError naming the
    file and the fault when it is truncated, not Parquet, or its footer cannot be read.

    Pages whose writer stored a CRC are checked against it as they are read.
    """
    with open(path, "rb") as handle:
        head = handle.read(len(PARQUET_MAGIC))
        size = handle.seek(0, io.SEEK_END)
        handle.seek(max(size - len(PARQUET_MAGIC), 0))
        tail = handle.read()
    # pyarrow looks at the trailing magic only: a file whose first bytes are wrong is not Parquet either.
    if head != PARQUET_MAGIC or tail != PARQUET_MAGIC or size < 3 * len(PARQUET_MAGIC):
        where = "start" if head != PARQUET_MAGIC else "end (truncated?)"
        raise LandingError(f"{path}: not a Parquet file: no magic bytes PAR1 at its {where} ({size:,} bytes)")
    try:
        parquet = pq.ParquetFile(path, page_checksum_verification=True)
    except (pa.ArrowException, OSError) as error:
        raise LandingError(f"{path}: unreadable Parquet footer (truncated or corrupt file): {error}") from error
    file_header_order(path, parquet.schema_arrow.names)
    metadata = parquet.metadata
    in_groups = sum(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups))
    if in_groups != metadata.num_rows:
        raise LandingError(
            f"{path}: corrupt Parquet footer: it promises {metadata.num_rows:,} rows, its row groups {in_groups:,}"
        )
    return parquet


def parquet_text_batches(path: Path, parquet: pq.ParquetFile, batch_rows: int) -> Iterator[pa.Table]:
    """The file's rows as tables of text columns (RAW_COLUMNS order). A page that cannot be
    read (corrupt, a wrong CRC) or a footer that promises other rows than the pages hold is a
    LandingError naming the file: the landing's transaction then keeps nothing of it."""
    batches = parquet.iter_batches(batch_size=batch_rows, columns=list(RAW_COLUMNS))
    rows = 0
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                break
            table = pa.Table.from_arrays([_as_text(c) for c in batch.columns], names=list(RAW_COLUMNS))
        except (pa.ArrowException, OSError) as error:
            raise LandingError(f"{path}: corrupt Parquet data after row {rows:,}: {error}") from error
        rows += table.num_rows
        yield table
    promised = parquet.metadata.num_rows
    if rows != promised:
        raise LandingError(
            f"{path}: corrupt Parquet file: its footer promises {promised:,} rows, its pages hold {rows:,}"
        )


def parquet_rejects(table: pa.Table, first_row: int) -> list[Reject]:
    """The rows of a batch that cannot land, with their reasons: a NUL byte (PostgreSQL text
    cannot hold one), a value over VALUE_LIMIT characters (the CSV paths' rule)."""
    oversize = _rows_where(table, lambda column: pc.greater(pc.utf8_length(column), VALUE_LIMIT))
    nul = _rows_where(table, lambda column: pc.match_substring(column, "\x00"))
    reasons = {**dict.fromkeys(oversize, OVERSIZE_REASON), **dict.fromkeys(nul, "contains a NUL byte")}
    return [
        Reject(first_row + i, _printable(repr(table.slice(i, 1).to_pylist()[0])), reasons[i]) for i in sorted(reasons)
    ]


def _rows_where(table: pa.Table, test: Callable[[pa.ChunkedArray], pa.ChunkedArray]) -> list[int]:
    """Positions of the rows where test holds for some column."""
    mask = np.zeros(table.num_rows, dtype=bool)
    for column in table.columns:
        hits = test(column)
        if pc.any(hits).as_py():
            mask |= hits.fill_null(False).to_numpy(zero_copy_only=False)
    return np.flatnonzero(mask).tolist()
