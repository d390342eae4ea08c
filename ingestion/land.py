"""Land a raw batch file (CSV or Parquet) into PostgreSQL's raw.loans, untouched, at COPY speed.

Every value is kept as the text it arrived as (no trimming, no casting), with lineage
columns: each row carries its row number, and the file's source, checksum and batch come from
raw.loans' column defaults, which read settings of the landing's transaction once per COPY
(see raw_tables.py): about a fifth of the server's work, compared with the same text on every
line. One transaction per file: a crash leaves nothing half-landed, and a file already landed
(same SHA-256) is skipped. The checksum takes a pass of its own before the COPY (~0.3 s for
350 MB): every row carries it, so the COPY cannot start without it. Lines that can't be read
as a record go to raw.rejected_rows with their raw text, line number and reason; rows read =
landed + rejected, which the server's row count of each COPY confirms.

How it keeps up with the database: a CSV file is cut into blocks of whole records (~8 MiB;
one block in memory at a time), and each block takes one of three paths.

* Vetted lines (nearly all blocks): when every line of a block is one record (no value spans
  lines, no CR, no blank line), suspect_lines() finds, at C speed, the lines PostgreSQL might
  refuse or read otherwise than Python's csv module (a field count other than 24, bytes that
  are not UTF-8, a NUL byte, doubtful quoting, a line longer than VALUE_LIMIT). The others go
  to PostgreSQL's COPY as their original bytes, with the row number appended; only the
  suspects take the exact path. So a file with 1% bad lines scattered through it lands at
  nearly the speed of a clean one. PostgreSQL's own CSV parser keeps the last word: should it
  refuse a record all the same, the file is landed again from a savepoint with every block
  validated by Arrow or the exact path.
* Arrow path: Arrow's C++ CSV parser reads (and so validates) a block whose records span
  lines or end in CRLF; it is written back by Arrow as CSV.
* Exact path: a block Arrow cannot vouch for — a record with the wrong number of fields,
  bytes that are not UTF-8, a NUL byte, or quoting Arrow would silently repair (``"ab"c``) —
  is read record by record with Python's strict csv module, which rejects each bad record
  with its line number and reason and lands the rest.

All paths give the same values: an empty field, quoted or not, is NULL (Python's csv module
cannot tell them apart, and few writers mean a difference); whitespace, quotes and newlines
inside values are kept. They also share one rule for long values (VALUE_LIMIT): a value of up
to 16 Mi characters lands as it is, a record holding a longer one is rejected.

Parquet: Arrow reads it in batches, renders every value as text, and the rows PostgreSQL
cannot hold (a NUL byte; a value over VALUE_LIMIT, as for CSV) are rejected. A corrupt file
(truncated, wrong magic bytes, an unreadable footer or page, a page failing its CRC, a footer
that promises other rows than its pages hold) is a LandingError naming the file and the fault,
and its transaction keeps nothing of it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from ingestion.raw_tables import LINEAGE_SETTINGS, ensure_raw_tables_exist
from lendflow.db import connect_dsn, masked_dsn
from lendflow.progress import row_progress
from lendflow.raw_columns import RAW_COLUMNS
from lendflow.settings import Settings

log = logging.getLogger(__name__)

# The one rule for long values, on every path: a value of up to 16 Mi characters lands as it is;
# a record holding a longer one is rejected with OVERSIZE_REASON. Python's csv module (the exact
# path) enforces it; the fast paths send every line longer than the limit to the exact path
# (a shorter line cannot hold a longer value), so a 5 MB description lands and a 20 MB one is
# rejected whichever path its block takes.
VALUE_LIMIT = 16 * 1024 * 1024
OVERSIZE_REASON = "a value longer than 16 MiB (the landing's limit per value)"
csv.field_size_limit(VALUE_LIMIT)

BLOCK_BYTES = 8 << 20
# A block never grows past this while waiting for a closing quote: an unterminated quote
# must not pull the rest of a big file into memory (the exact path rejects what it spoils).
MAX_BLOCK_BYTES = 64 << 20
PARQUET_BATCH_ROWS = 65_536

# The bytes a quote may touch in well-formed CSV: field and line ends, and another quote.
_SEPARATOR = np.zeros(256, dtype=bool)
_SEPARATOR[list(b',"\r\n')] = True
_NOT_SEPARATOR = bytes(b for b in range(256) if b not in b'",\n')
# A record's separators as separators_of() leaves them: 23 commas, no quote.
RECORD_SEPARATORS = b"," * (len(RAW_COLUMNS) - 1)


@dataclass(frozen=True)
class BlockScan:
    has_nul: bool  # PostgreSQL text cannot hold a NUL byte
    odd_quotes: np.ndarray  # quoting COPY would read otherwise than the csv module (see _odd_quote_offsets)
    newlines_in_values: bool  # some record spans lines
    separators: bytes  # the block's separators_of(): what its lines' field counts are read from

    @property
    def odd_quoting(self) -> bool:
        return self.odd_quotes.size > 0

    @property
    def needs_exact_path(self) -> bool:
        """Arrow cannot vouch for the block as a whole."""
        return self.has_nul or self.odd_quoting


_NONE = np.empty(0, np.int64)


def scan_block(block: bytes) -> BlockScan:
    """What a block holds, found at C speed (no Python loop over its bytes)."""
    separators = separators_of(block)
    if b'"' not in block:  # common with minimal quoting (pandas' to_csv): nothing to look into
        return BlockScan(b"\x00" in block, _NONE, newlines_in_values=False, separators=separators)
    # A line with an odd number of quotes opens (or closes) a value that spans lines; with
    # every pair of quotes of a line removed, a lone quote is left exactly then.
    lone_quotes = b'"' in separators.translate(None, b",").replace(b'""', b"")
    return BlockScan(b"\x00" in block, _odd_quote_offsets(block), lone_quotes, separators)


def separators_of(block: bytes) -> bytes:
    """The block's commas and newlines, and only those quotes that enclose a comma.

    Every other byte is dropped, then each pair of adjacent quotes (an empty or comma-free
    quoted value, or an escaped quote): that keeps the parity of the quotes before each comma,
    so whether it separates fields. A well-formed line of 24 fields leaves RECORD_SEPARATORS.
    One translate at C speed (~1 ms per MiB); a tenth of the block's size is left.
    """
    return block.translate(None, _NOT_SEPARATOR).replace(b'""', b"")


def _odd_quote_offsets(block: bytes) -> np.ndarray:
    """Offsets of the quotes PostgreSQL's COPY would read otherwise than Python's csv module
    (which Arrow follows): a quote inside an unquoted value (`ab"c`, `ab""`, ` "ab"`) and text
    after a closing quote (`"ab"c`, `""ab`). COPY takes any quote as the start or end of
    quoting and would quietly land `abc` or `ab`; the exact path keeps or rejects them.

    A block starts outside quotes (blocks end at record boundaries), so its quotes alternate
    opening and closing (the two of an escaped "" close and reopen). A well-formed opening
    quote follows a separator, a closing one precedes one. Numpy over the quotes only: ~10 ms
    per 8 MiB block of quoted CSV.
    """
    data = np.frombuffer(block, np.uint8)
    quotes = np.flatnonzero(data == ord('"'))
    if quotes.size == 0:
        return quotes
    before, after = data[quotes - 1], data[(quotes + 1) % data.size]
    if quotes[0] == 0:
        before[0] = ord("\n")  # the block's first byte starts a line
    if quotes[-1] == data.size - 1:
        after[-1] = ord("\n")  # the block's last byte ends one
    misplaced_opening = ~_SEPARATOR[before[0::2]]
    misplaced_closing = ~_SEPARATOR[after[1::2]]
    return np.concatenate((quotes[0::2][misplaced_opening], quotes[1::2][misplaced_closing]))


def _lines_holding(block: bytes, offsets: np.ndarray) -> set[int]:
    """The positions of the block's lines that hold these byte offsets."""
    newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n"))
    return set(np.searchsorted(newlines, offsets).tolist())


def suspect_lines(block: bytes, lines: list[bytes], scan: BlockScan) -> list[int]:
    """Positions of the lines (of a block whose lines are its records) that PostgreSQL's COPY
    might refuse or read otherwise than Python's csv module: a field count other than 24, a NUL
    byte, bytes that are not UTF-8, quoting it would repair, a line longer than VALUE_LIMIT.

    Only those go down the exact path; the block's other lines go to COPY as they are. Cheap
    on a clean block (one comparison of its separators); a Python pass over its lines otherwise.
    """
    every_line = (RECORD_SEPARATORS + b"\n") * len(lines)
    suspects: set[int] = set()
    if scan.separators not in (every_line, every_line[:-1]):  # [:-1]: a last line without newline
        shapes = scan.separators.split(b"\n")
        suspects.update(
            i
            for i, shape in enumerate(shapes[: len(lines)])
            if shape != RECORD_SEPARATORS and not _is_record_shape(shape)
        )
    if scan.has_nul:
        suspects.update(_lines_holding(block, np.flatnonzero(np.frombuffer(block, np.uint8) == 0)))
    if scan.odd_quoting:
        suspects.update(_lines_holding(block, scan.odd_quotes))
    if not _is_utf8(block):
        suspects.update(i for i, line in enumerate(lines) if not line.isascii() and not _is_utf8(line))
    if len(block) > VALUE_LIMIT:
        suspects.update(i for i, line in enumerate(lines) if len(line) > VALUE_LIMIT)
    return sorted(suspects)


def _is_record_shape(shape: bytes) -> bool:
    """A line's separators (see separators_of) make 24 fields: 23 commas outside quotes."""
    if b'"' not in shape:
        return shape == RECORD_SEPARATORS
    # Balanced quotes (the block has no lone quote): the even pieces lie outside them.
    return sum(piece.count(b",") for piece in shape.split(b'"')[::2]) == len(RECORD_SEPARATORS)


# The only lineage column each row carries; the others are the file's, set once per transaction
# (see _set_lineage), and _landed_at is now().
ROW_NUMBER = "_row_number"


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


@dataclass(frozen=True)
class CopyChunk:
    """CSV bytes ready for COPY (into its CopySource's columns), and what they hold."""

    data: pa.Buffer | bytes
    rows: int
    rejects: tuple[Reject, ...] = ()


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
        order = _header_order_of(path, header)
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


def _header_order_of(path: Path, header: list[str]) -> list[int]:
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


# --- the fast path: blocks of whole records, Arrow in and out -----------------------------
def count_byte(data: bytes, byte: int) -> int:
    """How often a byte occurs: a numpy compare, 2-4x faster than bytes.count on big blocks."""
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == byte))


def last_record_end(data: bytes) -> int:
    """Offset just past the last newline that ends a record (quotes balanced before it); 0 if none.

    Quote parity decides: in RFC 4180 CSV a newline inside a quoted value follows an odd
    number of quotes. Counting backwards keeps it linear in the block's size.
    """
    quotes_after = 0
    total = count_byte(data, ord('"'))
    end = len(data)
    pos = data.rfind(b"\n")
    while pos != -1:
        quotes_after += data.count(b'"', pos + 1, end)
        if (total - quotes_after) % 2 == 0:
            return pos + 1
        end = pos + 1
        pos = data.rfind(b"\n", 0, pos)
    return 0


def record_blocks(handle: BinaryIO, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """The rest of a file as blocks that each end at a record boundary (the last may not)."""
    pending = b""
    while True:
        chunk = handle.read(block_bytes)
        if not chunk:
            if pending:
                yield pending
            return
        data = pending + chunk if pending else chunk
        cut = last_record_end(data)
        if cut == 0 and len(data) >= MAX_BLOCK_BYTES:
            # An unterminated quote (or a line of 64 MiB): give up on balance, keep memory bounded.
            cut = data.rfind(b"\n") + 1 or len(data)
        if cut == 0:
            pending = data
            continue
        yield data[:cut]
        pending = data[cut:]


def _arrow_options(names: list[str]) -> tuple[pacsv.ReadOptions, pacsv.ConvertOptions]:
    read = pacsv.ReadOptions(column_names=names, use_threads=False, block_size=BLOCK_BYTES * 2)
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        strings_can_be_null=True,  # an empty field -> NULL, quoted or not (see the module's docstring)
        null_values=[""],
    )
    return read, convert


def parse_block_fast(block: bytes, names: list[str]) -> tuple[pa.Table, BlockScan] | None:
    """The block's records as text columns (file order), or None if it needs the exact path."""
    scan = scan_block(block)
    if scan.needs_exact_path or not _is_utf8(block):
        return None
    malformed = False

    def on_invalid(_row: pacsv.InvalidRow) -> str:
        nonlocal malformed
        malformed = True
        return "skip"

    read, convert = _arrow_options(names)
    # Arrow reads twice as fast when it may take every newline as the end of a record.
    parse = pacsv.ParseOptions(newlines_in_values=scan.newlines_in_values, invalid_row_handler=on_invalid)
    try:
        table = pacsv.read_csv(pa.py_buffer(block), read_options=read, parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid:  # bytes that are not UTF-8, or quoting Arrow cannot read
        return None
    if malformed or (len(block) > VALUE_LIMIT and _longest_value(table) > VALUE_LIMIT):
        return None  # the exact path rejects what Arrow would accept
    return table, scan


def _longest_value(table: pa.Table) -> int:
    """The length in characters of the table's longest value (as the csv module counts them)."""
    return max((pc.max(pc.utf8_length(column)).as_py() or 0 for column in table.columns), default=0)


def _is_utf8(block: bytes) -> bool:
    if block.isascii():  # the usual case, and a much faster test than decoding
        return True
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _int64s(start: int, n: int) -> pa.Array:
    # From a numpy buffer, not pa.array(ndarray): that path imports pandas (~1.5 s) on first use.
    return pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(np.arange(start, start + n, dtype=np.int64))])


def with_row_numbers(table: pa.Table, row_numbers: pa.Array) -> pa.Table:
    """The table's columns plus _row_number."""
    return table.append_column(ROW_NUMBER, row_numbers)


def to_copy_csv(table: pa.Table) -> pa.Buffer:
    """CSV for COPY: every string quoted (so "" stays the empty string), NULL as an unquoted empty field."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, batch_size=65_536))
    return sink.getvalue()


def plain_lines(block: bytes, scan: BlockScan) -> list[bytes] | None:
    """The block's lines if each is one record (well-formed or not): no value spans lines, no
    blank line, no CR; else None."""
    if scan.newlines_in_values or b"\r" in block:
        return None
    lines = block.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return None if b"" in lines else lines


def numbered_lines(lines: list[bytes], first_row: int) -> bytes:
    """The lines' own bytes, each followed by its row number: COPY reads the original text."""
    return lines_with_numbers(lines, range(first_row, first_row + len(lines)))


def lines_with_numbers(lines: list[bytes], numbers: Iterable[int]) -> bytes:
    """Each line's own bytes followed by its number (one per line, in order)."""
    # Interleaved, then joined once: no line + number object per line (40% faster).
    parts = [b""] * (2 * len(lines))
    parts[::2] = lines
    parts[1::2] = [b",%d\n" % number for number in numbers]
    return b"".join(parts)


def _records_table(records: list[Record], names: list[str]) -> pa.Table:
    """Records (RAW_COLUMNS order) as text columns in the file's order."""
    columns = list(zip(*(r.values for r in records), strict=True)) if records else [()] * len(RAW_COLUMNS)
    table = pa.Table.from_arrays([pa.array(c, pa.string()) for c in columns], names=list(RAW_COLUMNS))
    return table.select(names)


@dataclass(frozen=True)
class CopySource:
    """A file ready for COPY: the columns its chunks carry, in order, and the chunks (lazy)."""

    columns: tuple[str, ...]
    chunks: Iterator[CopyChunk]


def csv_source(path: Path, block_bytes: int = BLOCK_BYTES, *, optimistic: bool = False) -> CopySource:
    """A CSV file as COPY-ready chunks, in file order, in constant memory (the header is read now).

    optimistic: in blocks whose lines are their records, the lines suspect_lines() finds
    nothing wrong with go to COPY unparsed and the others down the exact path, and PostgreSQL's
    own CSV parser has the last word; if it refuses a line all the same, the caller lands the
    file again without this shortcut (see _land_in_transaction). Otherwise every block is read
    by Arrow, or by the exact path where Arrow cannot vouch for it.
    """
    handle = open(path, "rb")  # noqa: SIM115  (closed by the chunks generator)
    try:
        blocks = record_blocks(handle, block_bytes)
        first = next(blocks, b"").removeprefix(b"\xef\xbb\xbf")  # a byte-order mark is not part of a name
        header_end = last_record_end(first[: first.find(b"\n") + 1]) if b"\n" in first else len(first)
        header_text = first[:header_end].decode("utf-8", "replace")
        header = next(csv.reader(io.StringIO(header_text, newline=""), strict=True), [])
    except csv.Error as error:
        handle.close()
        raise LandingError(f"{path}: unreadable header: {error}") from error
    if not header:
        handle.close()
        return CopySource((*RAW_COLUMNS, ROW_NUMBER), iter(()))  # an empty file: nothing to land
    names = header
    try:
        order = _header_order_of(path, names)
    except LandingError:
        handle.close()
        raise
    first_line = 1 + header_text.count("\n")
    rest = _prepend(first[header_end:], blocks)
    chunks = _csv_chunks(handle, rest, names, order, first_line, optimistic)
    return CopySource((*names, ROW_NUMBER), chunks)


@dataclass(frozen=True)
class BlockPlace:
    """Where a block starts in its file, and how to read its records."""

    names: list[str]
    order: list[int]
    first_line: int
    first_row: int


def _csv_chunks(
    handle: BinaryIO,
    blocks: Iterator[bytes],
    names: list[str],
    order: list[int],
    first_line: int,
    optimistic: bool,
) -> Iterator[CopyChunk]:
    next_row, next_line = 1, first_line
    with handle:
        for block in blocks:
            if not block:
                continue
            place = BlockPlace(names, order, next_line, next_row)
            chunk = _vetted_chunk(block, place) if optimistic else None
            if chunk is None:
                chunk = _validated_chunk(block, place)
            yield chunk
            next_row += chunk.rows + len(chunk.rejects)
            next_line += count_byte(block, ord("\n"))


def _vetted_chunk(block: bytes, place: BlockPlace) -> CopyChunk | None:
    """A block whose lines are its records: the sound lines as their own bytes, the suspect
    ones (see suspect_lines) through the exact path; None for other blocks."""
    scan = scan_block(block)
    lines = plain_lines(block, scan)
    if lines is None:
        return None
    suspects = suspect_lines(block, lines, scan)
    if not suspects:
        return CopyChunk(numbered_lines(lines, place.first_row), len(lines))
    sound = _without(range(len(lines)), suspects)
    data = lines_with_numbers([lines[i] for i in sound], (place.first_row + i for i in sound))
    exact = [
        item
        for i in suspects
        for item in parse_lines(
            [lines[i].decode("utf-8", "surrogateescape") + "\n"], place.order, place.first_line + i, place.first_row + i
        )
    ]
    records = [item for item in exact if isinstance(item, Record)]
    rejects = tuple(item for item in exact if isinstance(item, Reject))
    if records:
        data += _records_copy_csv(records, place.names).to_pybytes()
    return CopyChunk(data, len(sound) + len(records), rejects)


def _without(positions: range, removed: list[int]) -> list[int]:
    """positions minus the sorted removed ones, in order."""
    kept: list[int] = []
    start = positions.start
    for position in removed:
        kept.extend(range(start, position))
        start = position + 1
    kept.extend(range(start, positions.stop))
    return kept


def _validated_chunk(block: bytes, place: BlockPlace) -> CopyChunk:
    """A block read by Arrow, which validates it, or where Arrow cannot vouch for it, by the exact path."""
    parsed = parse_block_fast(block, place.names)
    if parsed is None:
        return _exact_chunk(block, place.names, place.order, place.first_line, place.first_row)
    table, scan = parsed
    lines = plain_lines(block, scan)
    if lines is not None and len(lines) == table.num_rows:
        return CopyChunk(numbered_lines(lines, place.first_row), len(lines))
    numbers = _int64s(place.first_row, table.num_rows)
    return CopyChunk(to_copy_csv(with_row_numbers(table, numbers)), table.num_rows)


def _exact_chunk(block: bytes, names: list[str], order: list[int], first_line: int, first_row: int) -> CopyChunk:
    """A block the fast path could not vouch for, read record by record: good ones landed, bad ones rejected."""
    lines = io.StringIO(block.decode("utf-8", "surrogateescape"), newline="")  # splits like open(newline="")
    items = list(parse_lines(lines, order, first_line, first_row))
    records = [item for item in items if isinstance(item, Record)]
    rejects = tuple(item for item in items if isinstance(item, Reject))
    return CopyChunk(_records_copy_csv(records, names), len(records), rejects)


def _records_copy_csv(records: list[Record], names: list[str]) -> pa.Buffer:
    """Records as COPY CSV in the file's column order, each followed by its row number."""
    numbers = pa.array([r.row_number for r in records], pa.int64())
    return to_copy_csv(with_row_numbers(_records_table(records, names), numbers))


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


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
    _header_order_of(path, parquet.schema_arrow.names)
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


def parquet_source(path: Path, batch_rows: int = PARQUET_BATCH_ROWS) -> CopySource:
    """A Parquet file as COPY-ready chunks; values in Arrow's plain text form, rows that cannot land rejected."""
    parquet = open_parquet(path)
    return CopySource((*RAW_COLUMNS, ROW_NUMBER), _parquet_chunks(path, parquet, batch_rows))


def _parquet_chunks(path: Path, parquet: pq.ParquetFile, batch_rows: int) -> Iterator[CopyChunk]:
    next_row = 1
    for table in parquet_text_batches(path, parquet, batch_rows):
        batch_rows_read = table.num_rows
        numbers = _int64s(next_row, table.num_rows)
        rejects = parquet_rejects(table, next_row)
        if rejects:
            keep = np.ones(table.num_rows, dtype=bool)
            keep[[r.line_number - next_row for r in rejects]] = False
            table, numbers = table.filter(pa.array(keep)), numbers.filter(pa.array(keep))
        yield CopyChunk(to_copy_csv(with_row_numbers(table, numbers)), table.num_rows, tuple(rejects))
        next_row += batch_rows_read


def copy_source(path: Path, *, optimistic: bool = False) -> CopySource:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return csv_source(path, optimistic=optimistic)
    if suffix in (".parquet", ".pq"):
        return parquet_source(path)
    raise LandingError(f"{path}: unsupported file type {suffix!r}; expected .csv or .parquet")


# --- the edge: one transaction per file ---------------------------------------------------
def _copy_statement(columns: tuple[str, ...]) -> sql.Composed:
    # force_null: a quoted empty field ("") is NULL too, as the exact path (Python's csv
    # module cannot tell "" from an empty field) and most CSV writers mean it.
    return sql.SQL("copy raw.loans ({columns}) from stdin with (format csv, force_null ({raw}))").format(
        columns=sql.SQL(", ").join(sql.Identifier(name) for name in columns),
        raw=sql.SQL(", ").join(sql.Identifier(name) for name in RAW_COLUMNS),
    )


def land_file(path: Path, settings: Settings, *, progress: bool = True, role: str | None = "loader") -> LandingReport:
    """Land one file in one transaction; skip it if its checksum was landed before.

    role: the least-privilege role to land as (Settings.role_dsn: insert into raw, nothing
    more); None lands as the warehouse's owner.
    """
    path = Path(path)
    if not path.is_file():
        raise LandingError(f"{path}: no such file")
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):  # say so before hashing a big file
        raise LandingError(f"{path}: unsupported file type {path.suffix!r}; expected .csv or .parquet")
    dsn = settings.role_dsn(role) if role else settings.pg_dsn
    digest = file_sha256(path)
    lineage = Lineage(str(path.resolve()), digest, str(uuid.uuid4()))
    try:
        ensure_raw_tables_exist(settings, dsn)
        with connect_dsn(dsn) as conn:
            report = _land_in_transaction(conn, path, lineage, progress)
    except psycopg.OperationalError as error:
        raise LandingError(
            f"{path}: PostgreSQL at {masked_dsn(dsn)} failed during the landing ({error}). "
            "Nothing of this file was kept (one transaction per file); rerun once the database is back."
        ) from error
    except psycopg.errors.InsufficientPrivilege as error:
        raise LandingError(
            f"{path}: PostgreSQL refused the landing as {masked_dsn(dsn)}: {error}. Nothing of this file was"
            " kept. The loader role gets its grants when `lendflow up` sets up the database (or run"
            " `python -m lendflow.services.roles`); `--role owner` lands as the warehouse's owner instead."
        ) from error
    except psycopg.Error as error:
        raise LandingError(
            f"{path}: PostgreSQL refused the landing: {error}. Nothing of this file was kept."
        ) from error
    log.info(report.summary())
    return report


def _land_in_transaction(conn: psycopg.Connection, path: Path, lineage: Lineage, progress: bool) -> LandingReport:
    digest, source, batch_id = lineage.file_sha256, lineage.source_file, lineage.batch_id
    # The lock makes two concurrent landings of one file land it once.
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (digest,))
    if conn.execute("select 1 from raw.landed_files where file_sha256 = %s", (digest,)).fetchone():
        return LandingReport(source, digest, batch_id, 0, 0, 0, skipped=True)
    _set_lineage(conn, lineage)
    # First the optimistic pass: lines vetted here go to COPY as they are (suspect ones take the
    # exact path), and PostgreSQL's CSV parser has the last word. Should it refuse a record all
    # the same, the file is landed again with every block validated by Arrow or the exact path.
    conn.execute("savepoint optimistic")
    try:
        landed, rejects = _copy_file(conn, path, lineage, progress, optimistic=True)
    except psycopg.errors.DataError as error:
        log.info("%s: PostgreSQL refused a record (%s); validating every block", path.name, error.diag.message_primary)
        conn.execute("rollback to savepoint optimistic")
        landed, rejects = _copy_file(conn, path, lineage, progress, optimistic=False)
    with rejects:
        rejects.store(conn)
    report = LandingReport(source, digest, batch_id, landed + rejects.count, landed, rejects.count)
    conn.execute(
        "insert into raw.landed_files (file_sha256, source_file, batch_id, rows_read, rows_landed,"
        " rows_rejected) values (%s, %s, %s, %s, %s, %s)",
        (digest, source, batch_id, report.rows_read, report.rows_landed, report.rows_rejected),
    )
    return report


def _set_lineage(conn: psycopg.Connection, lineage: Lineage) -> None:
    """The file's lineage for raw.loans' column defaults (raw_tables.LINEAGE_SETTINGS), until the transaction ends."""
    values = {"_source_file": lineage.source_file, "_file_sha256": lineage.file_sha256, "_batch_id": lineage.batch_id}
    for column, value in values.items():
        conn.execute("select set_config(%s, %s, true)", (LINEAGE_SETTINGS[column], value))


def _copy_file(
    conn: psycopg.Connection, path: Path, lineage: Lineage, progress: bool, *, optimistic: bool
) -> tuple[int, RejectSpool]:
    landed = 0
    rejects = RejectSpool(lineage)
    source = copy_source(path, optimistic=optimistic)
    with conn.cursor() as cursor:
        with (
            # A writer thread sends while this one prepares the next block: both cores stay busy.
            cursor.copy(_copy_statement(source.columns), writer=QueuedLibpqWriter(cursor)) as copy,
            row_progress(f"landing {path.name}", enabled=progress) as advance,
        ):
            for chunk in source.chunks:
                copy.write(memoryview(chunk.data))
                landed += chunk.rows
                rejects.add(chunk.rejects)
                advance(chunk.rows + len(chunk.rejects))
        stored = cursor.rowcount
    # The server's count checks ours, on which rows read = landed + rejected rests.
    if stored != landed:
        raise LandingError(f"{path}: PostgreSQL stored {stored:,} rows where {landed:,} were sent; nothing was kept")
    return landed, rejects


class RejectSpool:
    """A file's rejected records on their way to raw.rejected_rows, in a temporary file past 8 MiB.

    They cannot go to the database while the file's COPY holds the connection, and a file
    of nothing but bad lines must not fill memory: they wait here, as CSV, in constant memory.
    """

    _COLUMNS = "source_file, file_sha256, line_number, raw_text, reason, batch_id"

    def __init__(self, lineage: Lineage, max_memory: int = 8 << 20) -> None:
        self._lineage = lineage
        # Closed by __exit__ (the spool outlives the COPY that fills it).
        self._spool = tempfile.SpooledTemporaryFile(max_size=max_memory, mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
        # Every field quoted: an empty raw text stays the empty string, not NULL.
        self._writer = csv.writer(self._spool, quoting=csv.QUOTE_ALL, lineterminator="\n")
        self.count = 0

    def add(self, rejects: Iterable[Reject]) -> None:
        lineage = self._lineage
        for reject in rejects:
            self._writer.writerow(
                (lineage.source_file, lineage.file_sha256, reject.line_number, reject.raw_text, reject.reason,
                 lineage.batch_id)
            )  # fmt: skip
            self.count += 1

    def store(self, conn: psycopg.Connection) -> None:
        """Copy every spooled reject into raw.rejected_rows (in the caller's transaction)."""
        if not self.count:
            return
        self._spool.seek(0)
        statement = sql.SQL("copy raw.rejected_rows ({}) from stdin with (format csv)").format(sql.SQL(self._COLUMNS))
        with conn.cursor() as cursor, cursor.copy(statement) as copy:
            for block in iter(lambda: self._spool.read(1 << 20), ""):
                copy.write(block)

    def __enter__(self) -> RejectSpool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._spool.close()
