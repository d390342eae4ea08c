"""Replay a raw loans file (CSV or Parquet) to a Kafka topic, one JSON object per loan.

The format is the one DATA.md describes (and the course-style producer sends): the message
value is a JSON object keyed by the 24 raw column names, values as in the file (CSV fields
as their text, an empty field as null; Parquet values as JSON numbers, booleans, strings),
the key is the loan id. After the data comes the plain message ``EOF``, sent to *every*
partition of the topic, so a consumer knows each partition is finished (see
streaming/consumer.py for the stop rule, which also serves a single course-style EOF).

Nothing of the file is dropped: a CSV record that is not a loan (too few or too many fields,
broken quoting, bytes that are not UTF-8, a NUL byte; the same rule as `lendflow land`, whose
parser decides) is sent too, as its exact bytes without a key, with the reason and line
number in the message's headers. The consumer lands it untouched and dbt's staging
quarantines it (``unparseable_json``). So every record of the file is one message.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from lendflow.csv_blocks import parse_block_fast, record_blocks
from lendflow.progress import row_progress
from lendflow.raw_columns import RAW_COLUMNS
from lendflow.records import LandingError, Record, header_order, parse_lines
from lendflow.services.base import ServiceError
from lendflow.services.kafka import ensure_topic
from lendflow.settings import Settings
from streaming.consumer import is_eof

log = logging.getLogger(__name__)

EOF = b"EOF"
KEY_COLUMN = "Loan Id"


class ProducerError(RuntimeError):
    """The file could not be read, or messages could not be delivered."""


@dataclass(frozen=True)
class ProduceReport:
    topic: str
    messages: int  # records sent: loans + ragged (EOF markers not counted)
    eof_markers: int
    seconds: float
    ragged: int = 0  # CSV records that are not loans, sent as their raw bytes

    @property
    def loans(self) -> int:
        return self.messages - self.ragged

    def summary(self) -> str:
        rate = self.messages / self.seconds if self.seconds else 0.0
        ragged = f" ({self.ragged:,} ragged lines sent as they are)" if self.ragged else ""
        return (
            f"{self.topic}: produced {self.loans:,} loans{ragged} + {self.eof_markers} EOF "
            f"in {self.seconds:.1f}s ({rate:,.0f} msg/s)"
        )


@dataclass(frozen=True)
class Ragged:
    """A CSV record that is not a loan: its exact bytes (its line end left out) and why."""

    line_number: int
    raw: bytes
    reason: str


Item = dict[str, Any] | Ragged


# --- reading the file (pure: file -> records) ---------------------------------
def read_batches(path: Path, batch_rows: int = 20_000) -> Iterator[list[Item]]:
    """Every record of the file in file order, a batch at a time: a loan as a dict of the 24 raw
    columns, a CSV record that is not a loan as Ragged."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _csv_batches(path)
    elif suffix in (".parquet", ".pq"):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=list(RAW_COLUMNS)):
            yield pa.Table.from_arrays([_nan_as_null(c) for c in batch.columns], names=batch.schema.names).to_pylist()
    else:
        raise ProducerError(f"{path}: unsupported file type {suffix!r}; expected .csv or .parquet")


def _csv_batches(path: Path) -> Iterator[list[Item]]:
    """A block of whole records at a time. What a record is, and why one is refused, is the
    landing's rule (ingestion.land), so a file is the same number of rows on both routes:
    Arrow reads a block it can vouch for, the strict csv module the others."""
    with open(path, "rb") as handle:
        header_line = handle.readline().removeprefix(b"\xef\xbb\xbf")  # a byte-order mark is not part of a name
        try:
            header = next(csv.reader(io.StringIO(header_line.decode("utf-8", "replace"), newline=""), strict=True), [])
            if not header:
                return  # an empty file: nothing to send
            order = header_order(header)
        except (csv.Error, LandingError) as error:
            raise ProducerError(f"{path}: unreadable header: {error}") from error
        next_line = 2
        for block in record_blocks(handle):
            parsed = parse_block_fast(block, header)
            if parsed is not None:
                yield parsed[0].select(list(RAW_COLUMNS)).to_pylist()
            else:
                yield exact_items(block, order, next_line)
            next_line += block.count(b"\n")


def exact_items(block: bytes, order: list[int], first_line: int) -> list[Item]:
    """A block of whole CSV records, record by record (the landing's parser): loans, and the
    exact bytes of the records it refuses. Blank lines are no record (as for the landing)."""
    consumed: list[str] = []

    def tapped(lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            yield line

    # surrogateescape: bytes that are not UTF-8 survive the text round trip exactly.
    lines = io.StringIO(block.decode("utf-8", "surrogateescape"), newline="")
    items: list[Item] = []
    for parsed in parse_lines(tapped(lines), order, first_line):
        text = "".join(consumed)  # the parser reads no further than the end of this record
        consumed.clear()
        if isinstance(parsed, Record):
            items.append(dict(zip(RAW_COLUMNS, parsed.values, strict=True)))
        else:
            items.append(Ragged(parsed.line_number, record_bytes(text), parsed.reason))
    return items


def record_bytes(text: str) -> bytes:
    """A record's own bytes: the blank lines the parser skipped before it and its line end left out."""
    text = text.lstrip("\r\n")
    text = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith(("\n", "\r")) else text
    return text.encode("utf-8", "surrogateescape")


def _nan_as_null(column: pa.Array) -> pa.Array:
    """NaN is not JSON (PostgreSQL's jsonb refuses it): a float NaN goes out as null, a missing value."""
    if not pa.types.is_floating(column.type):
        return column
    return pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)


Headers = list[tuple[str, bytes]]


def encode(record: dict[str, Any]) -> tuple[bytes | None, bytes]:
    """(key, value) of one loan's message."""
    key = record.get(KEY_COLUMN)
    value = json.dumps(record, ensure_ascii=False, allow_nan=False, default=str).encode("utf-8")
    return (None if key is None else str(key).encode("utf-8")), value


def message_of(item: Item) -> tuple[bytes | None, bytes, Headers | None]:
    """(key, value, headers) of one record's message: a loan as encode() gives it; a ragged record
    as its exact bytes, no key (no loan id can be trusted in it), the reason in the headers.

    The one text the stream reserves is its end marker: a ragged record that would read as EOF
    goes as a JSON object carrying its text, so it is quarantined (missing_key_...) and ends nothing.
    """
    if not isinstance(item, Ragged):
        return (*encode(item), None)
    headers = [("lendflow-ragged-line", str(item.line_number).encode()), ("lendflow-reason", item.reason.encode())]
    if not is_eof(item.raw):
        return None, item.raw, headers
    wrapped = {"ragged_line": item.raw.decode("utf-8"), "line_number": item.line_number, "reason": item.reason}
    return None, json.dumps(wrapped).encode("utf-8"), headers


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
    sent = ragged = 0
    first_ragged: Ragged | None = None
    with row_progress(f"producing {path.name} -> {topic}", enabled=progress) as advance:
        try:
            for batch in read_batches(path):
                for item in batch[: None if limit is None else limit - sent]:
                    key, value, headers = message_of(item)
                    _produce(producer, topic, key, value, on_delivery, headers=headers)
                    sent += 1
                    if isinstance(item, Ragged):
                        ragged += 1
                        first_ragged = first_ragged or item
                    if rate:
                        _pace(started, sent, rate)
                advance(len(batch))
                if limit is not None and sent >= limit:
                    break
        except (pa.ArrowException, OSError, KeyError) as error:
            producer.flush(30)  # what was sent stays sent; no EOF, since the run is not complete
            raise ProducerError(f"{path}: cannot be read as raw loans after {sent:,} messages: {error}") from error
        if first_ragged is not None:
            log.warning(
                "%s: %d records are not loans (the first, line %d: %s); sent as they are, for dbt to quarantine",
                path.name, ragged, first_ragged.line_number, first_ragged.reason,
            )  # fmt: skip
        # Every loan is acknowledged before the first EOF goes out: a consumer that sees an EOF
        # (and stops on "the other partitions are read to their end") can then miss nothing, even
        # when a broker restart holds some partitions' deliveries back in retries.
        _deliver_all(producer, topic, failures, "loans")
        partitions = _partition_count(producer, topic)
        if send_eof:
            for partition in range(partitions):
                _produce(producer, topic, None, EOF, on_delivery, partition=partition)
            _deliver_all(producer, topic, failures, "EOF markers")
    report = ProduceReport(topic, sent, partitions if send_eof else 0, time.monotonic() - started, ragged)
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


class _PartitionsNotKnown(Exception):
    """The topic's metadata has no partitions yet (the broker is starting, or just made it)."""


def _log_partitions_retry(state: RetryCallState) -> None:
    problem = state.outcome.exception() if state.outcome else None
    log.warning("partitions not known yet (%s): retrying", problem)


def _partition_count(producer: Producer, topic: str, timeout: float = 60.0) -> int:
    """The topic's partition count; retried while the broker is (re)starting."""

    def read() -> int:
        try:
            found = producer.list_topics(topic, timeout=10).topics.get(topic)
        except KafkaException as error:
            raise _PartitionsNotKnown(f"{topic}: {error}") from error
        if found is None or found.error is not None or not found.partitions:
            raise _PartitionsNotKnown(f"{topic}: topic metadata: {found.error if found is not None else 'missing'}")
        return len(found.partitions)

    retrying = Retrying(
        retry=retry_if_exception_type(_PartitionsNotKnown),
        wait=wait_fixed(0.5),
        stop=stop_after_delay(timeout),
        before_sleep=_log_partitions_retry,
        reraise=True,
    )
    try:
        return retrying(read)
    except _PartitionsNotKnown as problem:
        raise ProducerError(f"cannot read the partitions of {problem}") from problem
