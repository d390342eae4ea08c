"""The topic as a sequence of micro-batches, each landed in raw.loan_events exactly once.

`lendflow consume` lands a run as fast as it can; `lendflow stream` lands what has arrived,
builds the marts from it, and comes back for more. Both land the same way
(consumer.land_exactly_once: one transaction per batch, offsets committed to Kafka only after
it), so a crash at any point loses nothing and duplicates nothing. What this module keeps
between batches is what is costly to make again: the consumer's place in its group (joining
takes seconds) and the database connection.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import psycopg
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from lendflow.raw_tables import ensure_raw_tables_exist
from lendflow.services.base import ServiceError
from lendflow.services.kafka import ensure_topic
from lendflow.settings import Settings
from streaming.consumer import (
    RECONNECT_SECONDS,
    ConsumerError,
    EndTracker,
    EventWriter,
    accept_polled,
    as_text,
    default_group,
    kafka_config,
    land_exactly_once,
    read_to_end,
)

log = logging.getLogger(__name__)

SentRange = tuple[int, int]  # (oldest, newest) producer timestamps of messages, ms since the epoch


@dataclass(frozen=True)
class MicroBatch:
    messages: int = 0  # read from Kafka (EOF markers included)
    landed: int = 0  # new rows in raw.loan_events (a redelivered message is not new)
    sent: SentRange | None = None  # when its messages were sent, where Kafka knows it
    values: tuple[str | None, ...] = ()  # the messages' values as landed in message_value


def sent_range(timestamps: list[int]) -> SentRange | None:
    """The oldest and newest of message timestamps (ms); None when there is none to go by."""
    known = [stamp for stamp in timestamps if stamp >= 0]
    return (min(known), max(known)) if known else None


def _timestamp_ms(message: Message) -> int:
    kind, stamp = message.timestamp()
    return stamp if kind else -1  # kind 0: the message carries no timestamp


class MicroBatches:
    """Lands the topic batch by batch through one consumer and one connection (a context manager)."""

    def __init__(
        self,
        settings: Settings,
        topic: str | None = None,
        *,
        group: str | None = None,
        dsn: str | None = None,
        max_messages: int = 100_000,
        reconnect_for: float = RECONNECT_SECONDS,
    ) -> None:
        self.topic = topic or settings.kafka_topic
        self._settings = settings
        self._group = group or default_group(settings)
        self._dsn = dsn or settings.role_dsn("loader")
        self._max = max_messages
        self._tracker = EndTracker()
        self._events = EventWriter(self._dsn, reconnect_for)
        self._consumer: Consumer | None = None

    def __enter__(self) -> MicroBatches:
        ensure_raw_tables_exist(self._settings, self._dsn)
        try:
            ensure_topic(self._settings, self.topic)  # started before its producer: waits instead of failing
        except (ServiceError, KafkaException) as error:
            raise ConsumerError(f"Kafka at {self._settings.kafka_bootstrap} is not usable: {error}") from error
        self._consumer = Consumer(kafka_config(self._settings, self._group))

        def on_assign(_c: Consumer, partitions: list[TopicPartition]) -> None:
            self._tracker.assign({p.partition for p in partitions})

        def on_revoke(_c: Consumer, partitions: list[TopicPartition]) -> None:
            self._tracker.revoke({p.partition for p in partitions})

        self._consumer.subscribe([self.topic], on_assign=on_assign, on_revoke=on_revoke)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._events.close()
        if self._consumer is not None:
            self._consumer.close()  # leaves the group now: a restarted process gets the partitions at once

    @property
    def consumer(self) -> Consumer:
        if self._consumer is None:
            raise RuntimeError("MicroBatches is used as a context manager: `with MicroBatches(...) as batches`")
        return self._consumer

    def next(self, wait: float) -> MicroBatch:
        """Land what has arrived (up to max_messages), waiting up to `wait` seconds for the first message."""
        # consume() returns when it has num_messages or the timeout has passed: asked for the whole
        # batch, it would wait out `wait` on every cycle that has fewer. One message ends the wait.
        # A partition-end event is no message: wait on for what remains of `wait`.
        deadline, batch = time.monotonic() + wait, list[Message]()
        while not batch and (remaining := deadline - time.monotonic()) > 0:
            batch = accept_polled(self.consumer.consume(num_messages=1, timeout=remaining), self._tracker)
        while batch and len(batch) < self._max:  # what is already here joins the batch, without waiting
            more = accept_polled(self.consumer.consume(num_messages=self._max - len(batch), timeout=0), self._tracker)
            if not more:
                break
            batch += more
        if not batch:
            return MicroBatch()
        try:
            landed = land_exactly_once(self.consumer, self._events, batch)
        except psycopg.Error as error:
            raise ConsumerError(f"PostgreSQL failed while landing {self.topic}: {error}") from error
        except KafkaException as error:
            raise ConsumerError(f"Kafka failed while landing {self.topic}: {error}") from error
        values = tuple(as_text(m.value())[0] for m in batch)
        return MicroBatch(len(batch), landed, sent_range([_timestamp_ms(m) for m in batch]), values)

    def caught_up(self) -> bool:
        """This consumer holds partitions of the topic, and has read each to the broker's current end."""
        assigned = self._tracker.assigned
        return bool(assigned) and read_to_end(self.consumer, self.topic, assigned) == assigned
