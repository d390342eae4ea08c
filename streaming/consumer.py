"""Land Kafka messages into PostgreSQL's raw.loan_events untouched, with an exactly-once effect.

How exactly-once holds through any crash:

1. a batch of messages is written in one transaction, through COPY into a temporary table
   and ``insert ... on conflict (topic, kafka_partition, kafka_offset) do nothing``;
2. only after that transaction commits are the batch's offsets committed to Kafka.

A crash before 1 commits loses nothing (the offsets were not committed: Kafka redelivers);
a crash between 1 and 2 redelivers messages already landed, and the unique key drops them.
When the database connection is lost (PostgreSQL crashed or restarted), the consumer keeps
its place: the batch is landed again on a new connection, retried for a while (tenacity),
and its offsets wait for that commit; a commit that reached the server before the loss is
merged through the same unique key.

Values are kept exactly as they arrived: ``message_value`` holds the text when the bytes are
valid UTF-8 without NUL (PostgreSQL text cannot hold anything else); otherwise it holds a
readable rendering (``\\xNN`` escapes) and ``message_value_bytes`` the exact bytes. The same
goes for the key.

When to stop (without ``follow``). Every message whose value is the plain string ``EOF``
marks the end of a run. lendflow's producer sends one EOF to *every* partition, after its
data; a course-style producer sends a single EOF to one partition. The rule that serves both:
once at least one EOF has been seen, the consumer stops when each partition assigned to it
has either delivered an EOF or been read to its end. Since a producer sends its EOF after
all its data, "read to the end" on the other partitions means nothing of that run is left.
EOF messages are landed too (they are messages; dbt's staging skips them).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

import psycopg
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_incrementing,
)

from lendflow.db import connect_dsn
from lendflow.progress import row_progress
from lendflow.raw_tables import ensure_raw_tables_exist
from lendflow.services.base import ServiceError
from lendflow.services.kafka import ensure_topic
from lendflow.settings import Settings

log = logging.getLogger(__name__)

EOF_VALUES = frozenset({b"EOF", b'"EOF"'})
GROUP_PREFIX = "lendflow-landing"


def default_group(settings: Settings) -> str:
    """The warehouse's own consumer group: its committed offsets say what this database has landed.

    A group shared by two warehouses (two LENDFLOW_PG_DB on one broker) would hand each message
    to one of them only, and the other would never land it.
    """
    return f"{GROUP_PREFIX}-{settings.pg_db}"


DEFAULT_BATCH = 10_000
# How long a lost database connection is retried before the consumer gives up. Kept below
# librdkafka's max.poll.interval.ms (300 s): the loop does not poll while a batch waits.
RECONNECT_SECONDS = 120.0

_COLUMNS = (
    "topic, kafka_partition, kafka_offset, message_key, message_key_bytes, message_value, message_value_bytes,"
    " message_timestamp"
)
_COPY_EVENTS = f"copy raw.loan_events ({_COLUMNS}) from stdin"
# Only after a crash: a batch that may hold messages landed before goes through this stage.
_STAGE = f"""
create temporary table if not exists loan_events_stage on commit delete rows as
select {_COLUMNS} from raw.loan_events with no data"""
_COPY_STAGE = f"copy loan_events_stage ({_COLUMNS}) from stdin"
_MERGE = f"""
insert into raw.loan_events ({_COLUMNS})
select {_COLUMNS} from loan_events_stage
on conflict (topic, kafka_partition, kafka_offset) do nothing"""


# A commit refused with these belongs to a generation of the group that is gone (the session timed
# out during a broker restart); the messages are redelivered to the new one and the unique key drops them.
_STALE_GENERATION = frozenset({KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID})


class ConsumerError(RuntimeError):
    """The consumer cannot go on (the broker or the database failed); the message says why."""


@dataclass
class ConsumeReport:
    topic: str
    messages: int = 0  # read from Kafka, this run (EOF markers included)
    landed: int = 0  # new rows in raw.loan_events (redelivered ones, and a batch whose commit
    # reached the server just before the connection was lost, are not counted)
    batches: int = 0
    eof_partitions: set[int] = field(default_factory=set)
    stopped_by: str = ""  # "eof", "caught-up", "signal", "idle", "max-messages"
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.messages / self.seconds if self.seconds else 0.0
        return (
            f"{self.topic}: read {self.messages:,} messages, landed {self.landed:,} new "
            f"in {self.batches:,} batches ({rate:,.0f} msg/s); stopped by {self.stopped_by}"
        )


# --- pure helpers ----------------------------------------------------------
def as_text(data: bytes | None) -> tuple[str | None, bytes | None]:
    """(text, exact bytes): the bytes only when they cannot be stored as PostgreSQL text as they are."""
    if data is None:
        return None, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "backslashreplace").replace("\x00", "\\x00"), data
    if "\x00" in text:
        return text.replace("\x00", "\\x00"), data
    return text, None


def connection_lost(error: BaseException) -> bool:
    """The connection failed, not the batch: no server answer at all (refused, closed, or a
    refused login, which libpq reports without a code: the same DSN connected at the start, so
    a refusal now means the server is starting or stopping), a connection exception (08...),
    or the server shutting down or not yet accepting connections (57P01-57P03)."""
    if not isinstance(error, psycopg.OperationalError):
        return False
    state = error.sqlstate or ""
    return state == "" or state.startswith(("08", "57P"))


def is_eof(value: bytes | None) -> bool:
    return value is not None and value.strip() in EOF_VALUES


@dataclass
class EndTracker:
    """Decides when a run is over: see the module's docstring for the rule."""

    assigned: set[int] = field(default_factory=set)
    eof: set[int] = field(default_factory=set)
    at_end: set[int] = field(default_factory=set)

    def saw_message(self, partition: int, value: bytes | None) -> None:
        self.at_end.discard(partition)
        if is_eof(value):
            self.eof.add(partition)

    def reached_end(self, partition: int) -> None:
        self.at_end.add(partition)

    def assign(self, partitions: set[int]) -> None:
        """A (re)assignment restarts reading at the committed offsets: "at its end" must be seen anew.

        EOFs already seen stay: everything before them was read by this process (landed, or
        in the batch in flight, which lands before the consumer stops).
        """
        self.assigned |= partitions
        self.at_end -= partitions

    def revoke(self, partitions: set[int]) -> None:
        self.assigned -= partitions
        self.at_end -= partitions

    def waiting_on(self) -> set[int]:
        """Assigned partitions that have neither delivered an EOF nor been read to their end."""
        return self.assigned - self.eof - self.at_end

    def done(self) -> bool:
        return bool(self.eof) and self.caught_up()

    def caught_up(self) -> bool:
        """Every assigned partition read to its end, EOF or not."""
        return bool(self.assigned) and not self.waiting_on()

    def stop_reason(self, *, caught_up_is_enough: bool) -> str | None:
        """Why a run may stop now (the broker still to confirm the ends): "eof" when done,
        "caught-up" when reading every partition to its end is enough; None while neither."""
        if self.done():
            return "eof"
        if caught_up_is_enough and self.caught_up():
            return "caught-up"
        return None


def copy_rows(messages: Sequence[Message]) -> bytes:
    """The batch as COPY text-format rows of _COLUMNS (one loop, no per-field calls: this is the hot path)."""
    parts: list[str] = []
    append = parts.append
    topics: dict[str, str] = {}
    stamps: dict[int, str] = {}
    for msg in messages:
        topic = msg.topic() or ""  # never None on a message without error
        topic_field = topics.get(topic) or topics.setdefault(topic, _field(topic))
        ts_type, ts = msg.timestamp()
        stamp = stamps.get(ts) or stamps.setdefault(ts, _stamp(ts) if ts_type and ts >= 0 else "\\N")
        append(
            f"{topic_field}\t{msg.partition()}\t{msg.offset()}\t{_text_and_bytes(msg.key())}\t"
            f"{_text_and_bytes(msg.value())}\t{stamp}\n"
        )
    return "".join(parts).encode("utf-8")


def _text_and_bytes(data: bytes | None) -> str:
    """Two COPY fields: the text (escaped), and the exact bytes when text cannot hold them."""
    if data is None:
        return "\\N\t\\N"
    try:
        text = data.decode("utf-8")
        if "\x00" not in text:
            return _field(text) + "\t\\N"
    except UnicodeDecodeError:
        pass
    readable, _ = as_text(data)
    return _field(readable) + "\t\\\\x" + data.hex()


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _field(text: str | None) -> str:
    if text is None:
        return "\\N"
    return text.translate(_ESCAPES) if ("\\" in text or "\t" in text or "\n" in text or "\r" in text) else text


def _stamp(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).isoformat()


# --- the edges ---------------------------------------------------------------
def kafka_config(settings: Settings, group: str) -> dict[str, object]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        # Tells us when a partition has been read to its end: half of the stop rule.
        "enable.partition.eof": True,
        # A restarted consumer (after kill -9) gets its partitions back in seconds, not 45 s.
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        # Big fetches: throughput comes from batches.
        "fetch.max.bytes": 64 * 1024 * 1024,
        "max.partition.fetch.bytes": 16 * 1024 * 1024,
        "queued.min.messages": 200_000,
    }


@contextmanager
def stop_on_signals(stop: threading.Event, unit: str = "batch") -> Iterator[None]:
    """SIGTERM / SIGINT set `stop`: the loop finishes its current `unit` of work, and leaves."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current %s", signal.Signals(signum).name, unit)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class EventWriter:
    """Lands batches through one connection, opened anew when it is lost (see the module's docstring)."""

    def __init__(self, dsn: str, reconnect_for: float = RECONNECT_SECONDS) -> None:
        self._dsn = dsn
        self._reconnect_for = reconnect_for
        self._conn: psycopg.Connection | None = None

    def land(self, rows: bytes, count: int) -> int:
        """Land a batch (COPY rows of `count` messages); the number of new rows."""
        retrying = Retrying(
            retry=retry_if_exception(connection_lost),
            wait=wait_exponential(multiplier=0.25, max=5),
            stop=stop_after_delay(self._reconnect_for),
            before_sleep=_log_reconnect,
            reraise=True,
        )
        return retrying(self._land_once, rows, count)

    def _land_once(self, rows: bytes, count: int) -> int:
        if self._conn is None:
            self._conn = connect_dsn(self._dsn)
        try:
            return _land_batch(self._conn, rows, count)
        except psycopg.Error as error:
            if connection_lost(error):
                self.close()  # whatever the old session held is gone with it: start afresh
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _log_reconnect(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    count = state.args[1] if len(state.args) > 1 else "?"
    log.warning(
        "PostgreSQL connection lost while landing a batch of %s messages (%s): reconnecting in %.1f s"
        " (attempt %d); its offsets stay uncommitted until it lands",
        count, " ".join(str(error).split()) or type(error).__name__,
        state.next_action.sleep if state.next_action else 0.0, state.attempt_number,
    )  # fmt: skip


def consume(
    settings: Settings,
    topic: str | None = None,
    *,
    group: str | None = None,
    follow: bool = False,
    batch_size: int = DEFAULT_BATCH,
    idle_timeout: float | None = None,
    caught_up: bool = False,
    max_messages: int | None = None,
    dsn: str | None = None,
    progress: bool = True,
    stop: threading.Event | None = None,
    reconnect_for: float = RECONNECT_SECONDS,
) -> ConsumeReport:
    """Land the topic into raw.loan_events until the end of the run (or forever with follow).

    group: the Kafka consumer group (default: the warehouse's own, default_group).
    dsn: the connection to land with (default: the loader role's, which may only insert into raw).
    idle_timeout: also stop after this many seconds without a message (None: wait).
    caught_up: also stop once every partition is read to its end, EOF or not: land what the
        topic holds now, when no producer of this run will send an EOF.
    reconnect_for: how long a lost database connection is retried before giving up.
    """
    topic = topic or settings.kafka_topic
    group = group or default_group(settings)
    dsn = dsn or settings.role_dsn("loader")
    stop = stop or threading.Event()
    report = ConsumeReport(topic)
    tracker = EndTracker()
    ensure_raw_tables_exist(settings, dsn)
    try:
        ensure_topic(settings, topic)  # a consumer started before its producer waits instead of failing
    except (ServiceError, KafkaException) as error:
        raise ConsumerError(f"Kafka at {settings.kafka_bootstrap} is not usable: {error}") from error
    consumer = Consumer(kafka_config(settings, group))

    def on_assign(_c: Consumer, partitions: list[TopicPartition]) -> None:
        tracker.assign({p.partition for p in partitions})

    def on_revoke(_c: Consumer, partitions: list[TopicPartition]) -> None:
        tracker.revoke({p.partition for p in partitions})

    started = time.monotonic()
    last_message = started
    last_end_check = started
    # One batch lands in a worker thread while this one polls and encodes the next: the
    # database's time and Python's overlap. Offsets still follow their batch's commit.
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loan-events-writer")
    events = EventWriter(dsn, reconnect_for)
    in_flight: tuple[Future[int], list[Message]] | None = None

    def settle() -> None:
        """Wait for the batch in flight, then commit its offsets (never before its transaction)."""
        nonlocal in_flight
        if in_flight is None:
            return
        future, landed_batch = in_flight
        in_flight = None
        report.landed += future.result()
        _commit_offsets(consumer, landed_batch)
        report.messages += len(landed_batch)
        report.batches += 1
        advance(len(landed_batch))

    try:
        with (
            stop_on_signals(stop),
            row_progress(f"consuming {topic}", enabled=progress) as advance,
        ):
            consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
            read = 0
            try:
                while not stop.is_set():
                    want = batch_size if max_messages is None else min(batch_size, max_messages - read)
                    polled = consumer.consume(num_messages=want, timeout=0.5)
                    batch = accept_polled(polled, tracker)
                    rows = copy_rows(batch) if batch else b""
                    settle()
                    if batch:
                        in_flight = (worker.submit(events.land, rows, len(batch)), batch)
                        read += len(batch)
                        last_message = time.monotonic()
                    if max_messages is not None and read >= max_messages:
                        report.stopped_by = "max-messages"
                        break
                    ends_matter = bool(tracker.eof) or caught_up
                    if not follow and ends_matter and not batch and time.monotonic() - last_end_check > 1.0:
                        # librdkafka reports a partition's end once per reach; after a rebalance (a broker
                        # restart times the session out) it may not come again: ask the broker.
                        last_end_check = time.monotonic()
                        _check_ends(consumer, topic, tracker, tracker.waiting_on())
                    reason = None if follow else tracker.stop_reason(caught_up_is_enough=caught_up)
                    if reason and _ends_confirmed(consumer, topic, tracker):
                        report.stopped_by = reason
                        break
                    if idle_timeout is not None and not batch and time.monotonic() - last_message > idle_timeout:
                        report.stopped_by = "idle"
                        break
                else:
                    report.stopped_by = "signal"
                settle()
            finally:
                worker.shutdown(wait=True)  # a batch in flight finishes (its offsets stay uncommitted on error)
                events.close()
    except psycopg.Error as error:
        raise ConsumerError(f"PostgreSQL failed while landing {topic}: {error}") from error
    except KafkaException as error:
        raise ConsumerError(f"Kafka failed while consuming {topic}: {error}") from error
    finally:
        consumer.close()  # leaves the group now, so a restarted consumer gets the partitions at once
    report.eof_partitions = set(tracker.eof)
    report.seconds = time.monotonic() - started
    log.info(report.summary())
    return report


def accept_polled(polled: list[Message], tracker: EndTracker) -> list[Message]:
    """The real messages of a poll; partition-end events feed the tracker, fatal errors raise."""
    batch = []
    for msg in polled:
        error = msg.error()
        if error is None:
            batch.append(msg)
            value, partition = msg.value(), msg.partition() or 0  # never None on a message without error
            # Inlined EndTracker.saw_message (per message, so it counts); the EOF test first checks the length.
            tracker.at_end.discard(partition)
            if value is not None and len(value) < 16 and is_eof(value):
                tracker.eof.add(partition)
        elif error.code() == KafkaError._PARTITION_EOF:
            tracker.reached_end(msg.partition() or 0)
        elif error.fatal() or error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise KafkaException(error)
        else:  # transient (broker restarting, ...): librdkafka retries on its own
            log.warning("kafka: %s", error)
    return batch


def read_to_end(consumer: Consumer, topic: str, partitions: set[int]) -> set[int]:
    """Those of `partitions` this consumer has read up to the broker's current end (high watermark).

    Read means consumed since the assignment (position), or landed and committed before it.
    A partition whose offsets cannot be learnt now (broker restarting) is not counted.
    """
    if not partitions:
        return set()
    wanted = [TopicPartition(topic, p) for p in sorted(partitions)]
    try:
        positions = {tp.partition: tp.offset for tp in consumer.position(wanted)}
        committed = {tp.partition: tp.offset for tp in consumer.committed(wanted, timeout=5)}
        done = set()
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5, cached=False)
            read = max(positions.get(p, -1), committed.get(p, -1))
            if high == low or (read >= 0 and read >= high):
                done.add(p)
        return done
    except KafkaException as error:
        log.warning("kafka: cannot check the end of %s yet: %s", topic, error)
        return set()


def _check_ends(consumer: Consumer, topic: str, tracker: EndTracker, partitions: set[int]) -> None:
    for p in read_to_end(consumer, topic, partitions):
        tracker.reached_end(p)


def _ends_confirmed(consumer: Consumer, topic: str, tracker: EndTracker) -> bool:
    """Before stopping: every partition counted as "at its end" (not by an EOF) still is.

    "At its end" was true when librdkafka said so; messages may have arrived since (a producer
    retrying through a broker restart). Such a partition is read on instead.
    """
    claimed = tracker.assigned & tracker.at_end - tracker.eof
    stale = claimed - read_to_end(consumer, topic, claimed)
    tracker.at_end -= stale
    return not stale


def land_exactly_once(consumer: Consumer, events: EventWriter, batch: Sequence[Message]) -> int:
    """Land a batch in one transaction, then commit its offsets (never before): the number of new rows.

    The unit of exactly-once for a caller that lands batch by batch (`lendflow stream`); see
    the module's docstring for why a crash anywhere in it loses and duplicates nothing.
    """
    landed = events.land(copy_rows(batch), len(batch))
    _commit_offsets(consumer, batch)
    return landed


def _land_batch(conn: psycopg.Connection, rows: bytes, count: int) -> int:
    """Land a batch (COPY rows of `count` messages) in one transaction; the number of new rows.

    Straight COPY into raw.loan_events first. If some message of the batch landed before (it
    was redelivered after a crash between the database commit and the offset commit), the
    primary key refuses the COPY; then the batch goes through a stage and ON CONFLICT.
    """
    try:
        with conn.cursor() as cursor, cursor.copy(_COPY_EVENTS) as copy:
            copy.write(rows)
        conn.commit()
        return count
    except psycopg.errors.UniqueViolation:
        conn.rollback()
    with conn.cursor() as cursor:
        cursor.execute(_STAGE)
        with cursor.copy(_COPY_STAGE) as copy:
            copy.write(rows)
        cursor.execute(_MERGE)
        landed = cursor.rowcount
    conn.commit()  # the stage empties itself on commit
    log.info(
        "batch of %d held %d messages landed before (redelivered, or committed just before a lost connection):"
        " skipped",
        count, count - landed,
    )  # fmt: skip
    return landed


def _commit_may_succeed_later(error: BaseException) -> bool:
    """A failed offset commit worth retrying: not one refused because the group rebalanced
    (its generation is gone, so that commit can never succeed: don't block on it)."""
    if not isinstance(error, KafkaException):
        return False
    code = error.args[0].code() if error.args and isinstance(error.args[0], KafkaError) else None
    return code not in _STALE_GENERATION


def _log_commit_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("offset commit failed (attempt %d): %s", state.attempt_number, error)


def _commit_offsets(consumer: Consumer, batch: Sequence[Message], attempts: int = 5) -> None:
    """Commit the next offset of every partition in the batch, after the database commit.

    A commit that fails (broker restarting) is retried a little, then left: the next batch's
    commit covers these offsets, and redelivered messages are dropped by the unique key.
    """
    highest: dict[tuple[str, int], int] = {}
    for msg in batch:
        where = (msg.topic() or "", msg.partition() or 0)
        highest[where] = max(highest.get(where, -1), msg.offset() or 0)
    offsets = [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in highest.items()]
    retrying = Retrying(
        retry=retry_if_exception(_commit_may_succeed_later),
        wait=wait_incrementing(start=0.5, increment=0.5),
        stop=stop_after_attempt(attempts),
        before_sleep=_log_commit_retry,
        reraise=True,
    )
    try:
        retrying(consumer.commit, offsets=offsets, asynchronous=False)
    except KafkaException as error:
        log.warning("offset commit left to the next batch's commit: %s", error)
