"""A CSV file of raw records as blocks of whole records, and a block read by Arrow.

The reading every CSV path shares (landing's byte-level path in ingestion.csv_blocks, and the
producer): a file is cut into blocks (~8 MiB; one in memory at a time) that each end at a
record boundary, a block's quoting is scanned at C speed, and Arrow's C++ CSV parser reads a
block it can vouch for as text columns. A block it cannot vouch for (a NUL byte, quoting
Arrow would silently repair, bytes that are not UTF-8, a wrong field count, a value over
VALUE_LIMIT) is left to the exact path, Python's strict csv module (lendflow.records).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lendflow.records import VALUE_LIMIT

BLOCK_BYTES = 8 << 20
# A block never grows past this while waiting for a closing quote: an unterminated quote
# must not pull the rest of a big file into memory (the exact path rejects what it spoils).
MAX_BLOCK_BYTES = 64 << 20


# The bytes a quote may touch in well-formed CSV: field and line ends, and another quote.
_SEPARATOR = np.zeros(256, dtype=bool)
_SEPARATOR[list(b',"\r\n')] = True
_NOT_SEPARATOR = bytes(b for b in range(256) if b not in b'",\n')


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
    if scan.needs_exact_path or not is_utf8(block):
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


def is_utf8(block: bytes) -> bool:
    if block.isascii():  # the usual case, and a much faster test than decoding
        return True
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
