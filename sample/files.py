"""The sample files: loans and a stream sample as CSV and/or Parquet, written chunk by chunk.

Same arguments -> same bytes: the rows come from sample.table, which depends only on the rows,
the seed and the first loan id.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lendflow.raw_columns import RAW_SCHEMA
from sample.table import generate_chunks, next_loan_id

# The stream sample uses a different random stream than the batch sample with the same seed,
# so its customers and values are new, not copies of batch rows.
STREAM_SEED_OFFSET = 1_000_003
FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class SampleFiles:
    """What write_sample produced. Paths are None for formats that were not requested."""

    out_dir: Path
    rows: int
    stream_rows: int
    seed: int
    loans_csv: Path | None = None
    loans_parquet: Path | None = None
    stream_csv: Path | None = None
    stream_parquet: Path | None = None
    # Stream loan ids start here: above every batch id, so the two samples are disjoint.
    first_stream_loan_id: int = 0
    paths: tuple[Path, ...] = field(default=(), repr=False)


class _Sinks:
    """CSV and/or Parquet writers fed chunk by chunk, renamed into place only on success so
    an interrupted run never leaves a truncated file under the final name."""

    def __init__(self, base: Path, formats: Iterable[str]) -> None:
        self.final: dict[str, Path] = {f: base.with_suffix(f".{f}") for f in formats}
        self.tmp = {f: p.with_name(p.name + ".tmp") for f, p in self.final.items()}
        self.csv = pacsv.CSVWriter(self.tmp["csv"], RAW_SCHEMA) if "csv" in self.final else None
        self.parquet = (
            pq.ParquetWriter(self.tmp["parquet"], RAW_SCHEMA, compression="zstd") if "parquet" in self.final else None
        )

    def write(self, table: pa.Table) -> None:
        if self.csv is not None:
            self.csv.write_table(table)
        if self.parquet is not None:
            self.parquet.write_table(table)

    def close(self, ok: bool) -> None:
        for writer in (self.csv, self.parquet):
            if writer is not None:
                writer.close()
        for f, tmp in self.tmp.items():
            if ok:
                os.replace(tmp, self.final[f])
            else:
                tmp.unlink(missing_ok=True)


def _write(
    base: Path, formats: Sequence[str], chunks: Iterable[pa.Table], advance: Callable[[int], object]
) -> dict[str, Path]:
    sinks = _Sinks(base, formats)
    ok = False
    try:
        for chunk in chunks:
            sinks.write(chunk)
            advance(chunk.num_rows)
        ok = True
    finally:
        sinks.close(ok)
    return sinks.final


def write_sample(
    out_dir: Path,
    rows: int = 27_030,
    seed: int = 42,
    *,
    formats: Sequence[str] = ("csv", "parquet"),
    stream_rows: int = 5_000,
    progress: bool = True,
) -> SampleFiles:
    """Write loans.{csv,parquet} (batch) and stream.{csv,parquet} (new loans for the Kafka
    producer, ids disjoint from the batch) into `out_dir`. Same arguments -> same bytes."""
    formats = tuple(dict.fromkeys(formats))  # de-duplicate, keep order
    unknown = set(formats) - set(FORMATS)
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {formats!r}")
    if stream_rows < 0:
        raise ValueError("stream_rows must be >= 0")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    first_stream_id = next_loan_id(rows, 1)

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )  # fmt: skip

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not progress,
    )
    with bar:
        batch_task = bar.add_task("loans", total=rows)
        batch = _write(
            out_dir / "loans",
            formats,
            generate_chunks(rows, seed, first_loan_id=1),
            lambda k: bar.advance(batch_task, k),
        )
        stream_task = bar.add_task("stream", total=stream_rows)
        stream = _write(
            out_dir / "stream",
            formats,
            generate_chunks(stream_rows, seed + STREAM_SEED_OFFSET, first_loan_id=first_stream_id),
            lambda k: bar.advance(stream_task, k),
        )
    return SampleFiles(
        out_dir=out_dir,
        rows=rows,
        stream_rows=stream_rows,
        seed=seed,
        loans_csv=batch.get("csv"),
        loans_parquet=batch.get("parquet"),
        stream_csv=stream.get("csv"),
        stream_parquet=stream.get("parquet"),
        first_stream_loan_id=first_stream_id,
        paths=tuple(batch.values()) + tuple(stream.values()),
    )
