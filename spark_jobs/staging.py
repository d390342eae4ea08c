"""Spark staging: batch files and the Kafka topic landed untouched into Spark's `raw` schema.

Into the raw tables of lendflow/spark_raw_tables.py (PostgreSQL's, as Parquet tables in the
Hive metastore), so dbt's sources (`raw.loans`, `raw.loan_events`, `raw.landed_files`,
`raw.rejected_rows`) resolve on the spark target exactly as on the postgres one.

Batch files are read by the very reader `lendflow land` uses (lendflow.records.read_records):
one definition of "a record", "a rejected line" and "the text of a value", so Spark staging
and PostgreSQL hold the same rows and the same text, and the counts agree by construction.
Exactly once: every table is partitioned by the file's SHA-256 and written with a dynamic
partition overwrite, so landing a file again (after a crash, or on purpose) replaces its own
partition and never duplicates; a file whose checksum is in raw.landed_files is skipped.

The topic is landed with Structured Streaming (the spark-sql-kafka connector) and an
available-now trigger: each run reads what the topic holds at its start, and the checkpoint
plus the file sink's commit log make a rerun pick up exactly where the last one stopped.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from lendflow.progress import row_progress
from lendflow.raw_columns import RAW_COLUMNS, RAW_SCHEMA_NAME
from lendflow.records import LandingError, LandingReport, Record, Reject, file_sha256, read_records
from lendflow.settings import Settings
from lendflow.spark_raw_tables import ensure_raw_tables, quoted

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

LOANS_ARROW_SCHEMA = pa.schema(
    [(name, pa.string()) for name in RAW_COLUMNS]
    + [("_source_file", pa.string()), ("_row_number", pa.int64()), ("_batch_id", pa.string())]
)
REJECTS_ARROW_SCHEMA = pa.schema([("line_number", pa.int64()), ("raw_text", pa.string()), ("reason", pa.string())])


@dataclass(frozen=True)
class SparkStagingReport(LandingReport):
    """The same counts as PostgreSQL's landing report, worded for Spark staging."""

    def summary(self) -> str:
        if self.skipped:
            return f"{self.source_file}: already in Spark staging (sha256 {self.file_sha256[:12]}), skipped"
        return (
            f"{self.source_file}: read {self.rows_read:,}, staged {self.rows_landed:,}, "
            f"rejected {self.rows_rejected:,} in Spark (batch {self.batch_id})"
        )


@dataclass(frozen=True)
class StreamStagingReport:
    topic: str
    rows_before: int
    rows_after: int

    @property
    def rows_landed(self) -> int:
        return self.rows_after - self.rows_before

    def summary(self) -> str:
        return f"{self.topic}: {self.rows_landed:,} new messages staged in Spark ({self.rows_after:,} in all)"


# --- batch files -------------------------------------------------------------
def record_batches(
    records: Iterable[Record | Reject], source: str, batch_id: str, batch_rows: int = 50_000
) -> Iterator[tuple[pa.RecordBatch | None, list[Reject]]]:
    """Arrow batches of landed rows (text as read, plus lineage), with the rejects met on the way."""
    columns: list[list[str | None]] = [[] for _ in RAW_COLUMNS]
    row_numbers: list[int] = []
    rejects: list[Reject] = []

    def flush() -> pa.RecordBatch:
        n = len(row_numbers)
        arrays = [pa.array(values, pa.string()) for values in columns]
        arrays += [pa.array([source] * n, pa.string()), pa.array(row_numbers, pa.int64())]
        arrays += [pa.array([batch_id] * n, pa.string())]
        return pa.RecordBatch.from_arrays(arrays, schema=LOANS_ARROW_SCHEMA)

    for item in records:
        if isinstance(item, Reject):
            rejects.append(item)
            continue
        for values, value in zip(columns, item.values, strict=True):
            values.append(value)
        row_numbers.append(item.row_number)
        if len(row_numbers) >= batch_rows:
            yield flush(), rejects
            columns, row_numbers, rejects = [[] for _ in RAW_COLUMNS], [], []
    yield (flush() if row_numbers else None), rejects


def write_incoming(path: Path, incoming: Path, source: str, batch_id: str, progress: bool) -> tuple[int, int]:
    """Read `path` with the landing reader into Parquet files under `incoming`; (landed, rejected)."""
    (incoming / "loans").mkdir(parents=True, exist_ok=True)
    (incoming / "rejects").mkdir(parents=True, exist_ok=True)
    landed = 0
    all_rejects: list[Reject] = []
    with (
        pq.ParquetWriter(incoming / "loans" / "part-0.parquet", LOANS_ARROW_SCHEMA) as writer,
        row_progress(f"staging {path.name} for Spark", enabled=progress) as advance,
    ):
        for batch, rejects in record_batches(read_records(path), source, batch_id):
            if batch is not None:
                writer.write_batch(batch)
                landed += batch.num_rows
                advance(batch.num_rows)
            all_rejects.extend(rejects)
    rejects_table = pa.table(
        {
            "line_number": pa.array([r.line_number for r in all_rejects], pa.int64()),
            "raw_text": pa.array([r.raw_text for r in all_rejects], pa.string()),
            "reason": pa.array([r.reason for r in all_rejects], pa.string()),
        },
        schema=REJECTS_ARROW_SCHEMA,
    )
    pq.write_table(rejects_table, incoming / "rejects" / "part-0.parquet")
    return landed, len(all_rejects)


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def stage_file(spark: SparkSession, path: Path, settings: Settings, *, progress: bool = True) -> SparkStagingReport:
    """Land one raw file into Spark's raw.loans (and raw.rejected_rows, raw.landed_files), once."""
    path = Path(path)
    if not path.is_file():
        raise LandingError(f"{path}: no such file")
    ensure_raw_tables(spark)
    digest = file_sha256(path)
    source = str(path.resolve())
    batch_id = str(uuid.uuid4())
    already = spark.sql(
        f"select 1 from {RAW_SCHEMA_NAME}.landed_files where file_sha256 = {_literal(digest)} limit 1"
    ).collect()
    if already:
        return SparkStagingReport(source, digest, batch_id, 0, 0, 0, skipped=True)

    incoming = settings.spark_home / "incoming" / digest
    shutil.rmtree(incoming, ignore_errors=True)
    try:
        landed, rejected = write_incoming(path, incoming, source, batch_id, progress)
        landed_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
        raw_names = ", ".join(quoted(name) for name in RAW_COLUMNS)
        spark.sql(
            f"insert overwrite table {RAW_SCHEMA_NAME}.loans partition (_file_sha256) "
            f"select {raw_names}, _source_file, _row_number, _batch_id, timestamp {_literal(landed_at)}, "
            f"{_literal(digest)} from parquet.`{incoming / 'loans'}`"
        )
        spark.sql(
            f"insert overwrite table {RAW_SCHEMA_NAME}.rejected_rows partition (file_sha256) "
            f"select {_literal(source)}, line_number, raw_text, reason, {_literal(batch_id)}, "
            f"timestamp {_literal(landed_at)}, {_literal(digest)} from parquet.`{incoming / 'rejects'}`"
        )
        # Last: a file counts as landed only once its rows are in (a crash before this reruns it).
        spark.sql(
            f"insert overwrite table {RAW_SCHEMA_NAME}.landed_files partition (file_sha256) "
            f"select {_literal(source)}, {_literal(batch_id)}, {landed + rejected}, {landed}, {rejected}, "
            f"timestamp {_literal(landed_at)}, {_literal(digest)}"
        )
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    report = SparkStagingReport(source, digest, batch_id, landed + rejected, landed, rejected)
    log.info(report.summary())
    return report


# --- the Kafka topic ---------------------------------------------------------
def kafka_events(spark: SparkSession, settings: Settings, topic: str):  # type: ignore[no-untyped-def]
    """The topic as a streaming DataFrame in raw.loan_events' shape (values untouched).

    Text columns hold the bytes decoded as UTF-8; when the bytes are not valid UTF-8 (or hold
    a NUL) the *_bytes columns keep them exactly, as PostgreSQL's raw.loan_events does.
    """
    from pyspark.sql import functions as F

    def text_and_bytes(column: str) -> list:  # type: ignore[type-arg]
        data = F.col(column)
        as_text = data.cast("string")
        exact = F.is_valid_utf8(as_text) & ~F.contains(data, F.lit(b"\x00"))
        return [
            F.when(exact, as_text).otherwise(F.make_valid_utf8(as_text)).alias(f"message_{column}"),
            F.when(exact, F.lit(None).cast("binary")).otherwise(data).alias(f"message_{column}_bytes"),
        ]

    stream = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "false")
        .load()
    )
    key_cols = text_and_bytes("key")
    value_cols = text_and_bytes("value")
    return stream.select(
        F.col("topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        key_cols[0],
        key_cols[1],
        value_cols[0],
        value_cols[1],
        F.col("timestamp").alias("message_timestamp"),
        F.current_timestamp().alias("_landed_at"),
    )


def stage_topic(spark: SparkSession, settings: Settings, topic: str | None = None) -> StreamStagingReport:
    """Land everything the topic holds now into raw.loan_events (available-now trigger), once."""
    topic = topic or settings.kafka_topic
    ensure_raw_tables(spark)
    table = f"{RAW_SCHEMA_NAME}.loan_events"
    before = _count_topic(spark, table, topic)
    checkpoint = settings.spark_checkpoints_dir / f"loan_events-{topic}"
    query = (
        kafka_events(spark, settings, topic)
        .writeStream.format("parquet")
        .option("checkpointLocation", str(checkpoint))
        .outputMode("append")
        .trigger(availableNow=True)
        .toTable(table)
    )
    query.awaitTermination()
    if query.exception() is not None:  # pragma: no cover - awaitTermination raises first
        raise RuntimeError(str(query.exception()))
    spark.catalog.refreshTable(table)
    report = StreamStagingReport(topic, before, _count_topic(spark, table, topic))
    log.info(report.summary())
    return report


def _count_topic(spark: SparkSession, table: str, topic: str) -> int:
    return int(spark.sql(f"select count(*) from {table} where topic = {_literal(topic)}").collect()[0][0])
