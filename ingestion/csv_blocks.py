"""The byte-level CSV path of landing: a CSV file as COPY-ready chunks, at COPY speed.

How it keeps up with the database: a CSV file is cut into blocks of whole records (~8 MiB;
one block in memory at a time; lendflow.csv_blocks), and each block takes one of three paths.

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
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from ingestion.copy_chunks import ROW_NUMBER, CopyChunk, CopySource, int64s, to_copy_csv, with_row_numbers
from lendflow.csv_blocks import (
    BLOCK_BYTES,
    BlockScan,
    count_byte,
    is_utf8,
    last_record_end,
    parse_block_fast,
    record_blocks,
    scan_block,
)
from lendflow.raw_columns import RAW_COLUMNS
from lendflow.records import VALUE_LIMIT, LandingError, Record, Reject, file_header_order, parse_lines

# A record's separators as lendflow.csv_blocks.separators_of() leaves them: 23 commas, no quote.
RECORD_SEPARATORS = b"," * (len(RAW_COLUMNS) - 1)


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
    if not is_utf8(block):
        suspects.update(i for i, line in enumerate(lines) if not line.isascii() and not is_utf8(line))
    if len(block) > VALUE_LIMIT:
        suspects.update(i for i, line in enumerate(lines) if len(line) > VALUE_LIMIT)
    return sorted(suspects)


def _is_record_shape(shape: bytes) -> bool:
    """A line's separators (see lendflow.csv_blocks.separators_of) make 24 fields: 23 commas outside quotes."""
    if b'"' not in shape:
        return shape == RECORD_SEPARATORS
    # Balanced quotes (the block has no lone quote): the even pieces lie outside them.
    return sum(piece.count(b",") for piece in shape.split(b'"')[::2]) == len(RECORD_SEPARATORS)


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


def csv_source(path: Path, block_bytes: int = BLOCK_BYTES, *, optimistic: bool = False) -> CopySource:
    """A CSV file as COPY-ready chunks, in file order, in constant memory (the header is read now).

    optimistic: in blocks whose lines are their records, the lines suspect_lines() finds
    nothing wrong with go to COPY unparsed and the others down the exact path, and PostgreSQL's
    own CSV parser has the last word; if it refuses a line all the same, the caller lands the
    file again without this shortcut (see ingestion.land). Otherwise every block is read
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
        order = file_header_order(path, names)
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
    numbers = int64s(place.first_row, table.num_rows)
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
