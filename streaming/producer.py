"""Replay a raw loans file (CSV or Parquet) to a Kafka topic, one JSON object per loan.

The format is the one DATA.md describes (and the course-style producer sends): the message
value is a JSON object keyed by the 24 raw column names, values as in the file (CSV fields
as their text, an empty field as null; Parquet values as JSON numbers, booleans, strings),
the key is the loan id. After the data comes the plain message ``EOF``, sent to *every*
partition of the topic, so a consumer knows each partition is finished (see
streaming/consumer.py for the stop rule, which also serves a single course-style EOF).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from lendflow.progress import row_progress
from lendflow.raw_columns import RAW_COLUMNS
from lendflow.services.base import ServiceError
from lendflow.services.kafka import ensure_topic
from lendflow.settings import Settings

log = logging.getLogger(__name__)

EOF = b"EOF"
KEY_COLUMN = "Loan Id"


class ProducerError(RuntimeError):
    """The file could not be read, or messages could not be delivered."""


@dataclass(frozen=True)
class ProduceReport:
    topic: str
    messages: int  # loans sent (EOF markers not counted)
    eof_markers: int
    seconds: float

    def summary(self) -> str:
        rate = self.messages / self.seconds if self.seconds else 0.0
        return (
            f"{self.topic}: produced {self.messages:,} loans + {self.eof_markers} EOF "
            f"in {self.seconds:.1f}s ({rate:,.0f} msg/s)"
        )


# --- reading the file (pure: file -> records) ---------------------------------
def read_batches(
    path: Path, batch_rows: int = 20_000, skipped: list[str] | None = None
) -> Iterator[list[dict[str, Any]]]:
    """The file's rows as dicts of the 24 raw columns, in file order, a batch at a time.

    CSV lines that are not a record of 24 fields are left out (their text goes to `skipped`):
    `lendflow land` is the place that keeps and explains bad lines, the stream carries loans.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        options = pacsv.ConvertOptions(
            column_types=dict.fromkeys(RAW_COLUMNS, pa.string()),
            include_columns=list(RAW_COLUMNS),
            strings_can_be_null=True,  # an empty field is null, as `lendflow land` lands it
            null_values=[""],
        )

        def on_invalid(row: pacsv.InvalidRow) -> str:
            if skipped is not None:
                skipped.append(row.text)
            return "skip"

        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=8 << 20, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=options,
        )
        for batch in reader:
            yield batch.to_pylist()
    elif suffix in (".parquet", ".pq"):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=list(RAW_COLUMNS)):
            yield pa.Table.from_arrays([_nan_as_null(c) for c in batch.columns], names=batch.schema.names).to_pylist()
    else:
        raise ProducerError(f"{path}: unsupported file type {suffix!r}; expected .csv or .parquet")


def _nan_as_null(column: pa.Array) -> pa.Array:
    """NaN is not JSON (PostgreSQL's jsonb refuses it): a float NaN goes out as null, a missing value."""
    if not pa.types.is_floating(column.type):
        return column
    return pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)


def encode(record: dict[str, Any]) -> tuple[bytes | None, bytes]:
    """(key, value) of one loan's message."""
    key = record.get(KEY_COLUMN)
    value = json.dumps(record, ensure_ascii=False, allow_nan=False, default=str).encode("utf-8")
    return (None if key is None else str(key).encode("utf-8")), value


def producer_config(settings: Settings) -> dict[str, object]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        # Idempotence: retries after a broker restart neither duplicate nor reorder messages.
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "batch.size": 1 << 20,
        "compression.type": "lz4",
        # The Java client's partitioner: the same loan id lands on the same partition as with
        # a Java or kafka-python producer.
        "partitioner": "murmur2_random",
        "message.timeout.ms": 300_000,
    }


def produce(
    path: Path,
    settings: Settings,
    topic: str | None = None,
    *,
    rate: float | None = None,
    limit: int | None = None,
    send_eof: bool = True,
    progress: bool = True,
) -> ProduceReport:
    """Send the file's loans (at `rate` messages/s, or flat out), then EOF to every partition."""
    topic = topic or settings.kafka_topic
    path = Path(path)
    if not path.is_file():
        raise ProducerError(f"{path}: no such file")
    try:
        ensure_topic(settings, topic)
    except (ServiceError, KafkaException) as error:
        raise ProducerError(f"Kafka at {settings.kafka_bootstrap} is not usable: {error}") from error
    producer = Producer(producer_config(settings))
    failures: list[str] = []

    def on_delivery(error: KafkaError | None, _msg: Message) -> None:
        if error is not None:
            failures.append(str(error))

    started = time.monotonic()
    sent = 0
    skipped: list[str] = []
    with row_progress(f"producing {path.name} -> {topic}", enabled=progress) as advance:
        try:
            for batch in read_batches(path, skipped=skipped):
                for record in batch[: None if limit is None else limit - sent]:
                    key, value = encode(record)
                    _produce(producer, topic, key, value, on_delivery)
                    sent += 1
                    if rate:
                        _pace(started, sent, rate)
                advance(len(batch))
                if limit is not None and sent >= limit:
                    break
        except (pa.ArrowException, OSError, KeyError) as error:
            producer.flush(30)  # what was sent stays sent; no EOF, since the run is not complete
            raise ProducerError(f"{path}: cannot be read as raw loans after {sent:,} messages: {error}") from error
        if skipped:
            log.warning("%s: %d lines are not records of 24 fields and were not sent", path.name, len(skipped))
        # Every loan is acknowledged before the first EOF goes out: a consumer that sees an EOF
        # (and stops on "the other partitions are read to their end") can then miss nothing, even
        # when a broker restart holds some partitions' deliveries back in retries.
        _deliver_all(producer, topic, failures, "loans")
        partitions = _partition_count(producer, topic)
        if send_eof:
            for partition in range(partitions):
                _produce(producer, topic, None, EOF, on_delivery, partition=partition)
            _deliver_all(producer, topic, failures, "EOF markers")
    report = ProduceReport(topic, sent, partitions if send_eof else 0, time.monotonic() - started)
    log.info(report.summary())
    return report


def _produce(producer: Producer, topic: str, key: bytes | None, value: bytes, on_delivery: Any, **kw: Any) -> None:
    while True:
        try:
            producer.produce(topic, value=value, key=key, on_delivery=on_delivery, **kw)
            producer.poll(0)
            return
        except BufferError:  # the local queue is full: let deliveries drain it
            producer.poll(0.1)


def _pace(started: float, sent: int, rate: float) -> None:
    ahead = sent / rate - (time.monotonic() - started)
    if ahead > 0.001:
        time.sleep(ahead)


def _deliver_all(producer: Producer, topic: str, failures: list[str], what: str, timeout: float = 120.0) -> None:
    """Wait until everything queued is delivered (librdkafka retries through a broker restart); raise if not."""
    remaining = producer.flush(timeout)
    if remaining or failures:
        raise ProducerError(
            f"{remaining + len(failures)} messages ({what}) not delivered to {topic}: "
            f"{failures[:3] or 'flush timed out'}"
        )


def _partition_count(producer: Producer, topic: str, timeout: float = 60.0) -> int:
    """The topic's partition count; retried while the broker is (re)starting."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            metadata = producer.list_topics(topic, timeout=10)
            found = metadata.topics.get(topic)
            if found is not None and found.error is None and found.partitions:
                return len(found.partitions)
            problem = f"topic metadata: {found.error if found is not None else 'missing'}"
        except KafkaException as error:
            problem = str(error)
        if time.monotonic() > deadline:
            raise ProducerError(f"cannot read the partitions of {topic}: {problem}")
        log.warning("partitions of %s not known yet (%s): retrying", topic, problem)
        time.sleep(0.5)
