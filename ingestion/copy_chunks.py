"""What COPY is fed: chunks of CSV bytes (the raw columns and each row's number) with the
records they hold and the rejects met on the way. CSV files become chunks in
ingestion.csv_blocks, Parquet files here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lendflow.raw_columns import RAW_COLUMNS
from lendflow.records import PARQUET_BATCH_ROWS, Reject, open_parquet, parquet_rejects, parquet_text_batches

# The only lineage column each row carries; the others are the file's, set once per transaction
# (see ingestion.land), and _landed_at is now().
ROW_NUMBER = "_row_number"


@dataclass(frozen=True)
class CopyChunk:
    """CSV bytes ready for COPY (into its CopySource's columns), and what they hold."""

    data: pa.Buffer | bytes
    rows: int
    rejects: tuple[Reject, ...] = ()


def int64s(start: int, n: int) -> pa.Array:
    # From a numpy buffer, not pa.array(ndarray): that path imports pandas on first use.
    return pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(np.arange(start, start + n, dtype=np.int64))])


def with_row_numbers(table: pa.Table, row_numbers: pa.Array) -> pa.Table:
    """The table's columns plus _row_number."""
    return table.append_column(ROW_NUMBER, row_numbers)


def to_copy_csv(table: pa.Table) -> pa.Buffer:
    """CSV for COPY: every string quoted (so "" stays the empty string), NULL as an unquoted empty field."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, batch_size=65_536))
    return sink.getvalue()


@dataclass(frozen=True)
class CopySource:
    """A file ready for COPY: the columns its chunks carry, in order, and the chunks (lazy)."""

    columns: tuple[str, ...]
    chunks: Iterator[CopyChunk]


def parquet_source(path: Path, batch_rows: int = PARQUET_BATCH_ROWS) -> CopySource:
    """A Parquet file as COPY-ready chunks; values in Arrow's plain text form, rows that cannot land rejected."""
    parquet = open_parquet(path)
    return CopySource((*RAW_COLUMNS, ROW_NUMBER), _parquet_chunks(path, parquet, batch_rows))


def _parquet_chunks(path: Path, parquet: pq.ParquetFile, batch_rows: int) -> Iterator[CopyChunk]:
    next_row = 1
    for table in parquet_text_batches(path, parquet, batch_rows):
        batch_rows_read = table.num_rows
        numbers = int64s(next_row, table.num_rows)
        rejects = parquet_rejects(table, next_row)
        if rejects:
            keep = np.ones(table.num_rows, dtype=bool)
            keep[[r.line_number - next_row for r in rejects]] = False
            table, numbers = table.filter(pa.array(keep)), numbers.filter(pa.array(keep))
        yield CopyChunk(to_copy_csv(with_row_numbers(table, numbers)), table.num_rows, tuple(rejects))
        next_row += batch_rows_read
