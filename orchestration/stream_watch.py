"""The event-driven DAG's two ends at the topic (orchestration/stream_dag.py).

- The watcher's filter, `signal_unlanded`, runs in Airflow's triggerer on every message the
  asset watcher reads (with its own consumer group). A message calls for a DAG run only while the
  warehouse has not landed it: messages a run already landed start no second run for nothing.
  Every message is looked at, so none is left unlanded: either a run landed it before the watcher
  saw it, or the watcher signals it and a run lands it.
- The landing task, `land_backlog`, lands what the topic holds when it starts, with the same
  exactly-once landing as `lendflow consume` (streaming.consumer) and the warehouse's own group,
  whose offsets commit with the rows.

Reading the landing group's committed offsets (OffsetFetch) does not join the group: neither the
watcher nor the backlog count takes a partition from a landing consumer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from lendflow import settings as config
from lendflow.settings import Settings
from streaming.consumer import consume, default_group, is_eof, kafka_config

# The landing task stops once it has read the backlog it counted at its start, or after this long
# without a message (a backlog of offsets that hold no message: transaction markers, compaction).
LAND_IDLE_SECONDS = 10.0
KAFKA_TIMEOUT = 10.0


def landing_positions(consumer: Consumer, topic: str, partitions: list[int]) -> dict[int, int]:
    """Per partition, the next offset the warehouse lands: its group's committed offset, or the
    partition's first offset while the group has committed none (it reads from the earliest)."""
    committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=KAFKA_TIMEOUT)
    positions = {}
    for found in committed:
        if found.offset >= 0:
            positions[found.partition] = found.offset
        else:
            low, _ = consumer.get_watermark_offsets(TopicPartition(topic, found.partition), timeout=KAFKA_TIMEOUT)
            positions[found.partition] = low
    return positions


def backlog(consumer: Consumer, topic: str) -> dict[int, int]:
    """Messages of topic the warehouse has not landed yet, per partition."""
    metadata = consumer.list_topics(topic, timeout=KAFKA_TIMEOUT).topics[topic]
    partitions = sorted(metadata.partitions)
    positions = landing_positions(consumer, topic, partitions)
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=KAFKA_TIMEOUT, cached=False)[1]
        for p in partitions
    }
    return {p: max(ends[p] - positions[p], 0) for p in partitions}


@dataclass
class LandedOffsets:
    """Whether a message has been landed, asking Kafka only for a message past what is known:
    committed offsets only grow, so a message below a known one stays landed."""

    lookup: Callable[[str, int], int]  # (topic, partition) -> the landing group's next offset
    known: dict[tuple[str, int], int] = field(default_factory=dict)

    def landed(self, topic: str, partition: int, offset: int) -> bool:
        where = (topic, partition)
        if offset < self.known.get(where, -1):
            return True
        self.known[where] = self.lookup(topic, partition)
        return offset < self.known[where]


@cache
def _landed_offsets() -> LandedOffsets:
    """One lookup client per triggerer process, on the landing group (never subscribed: it reads
    the group's commits without joining it)."""
    settings = config.load()
    reader = Consumer(kafka_config(settings, default_group(settings)))
    return LandedOffsets(lambda topic, partition: landing_positions(reader, topic, [partition])[partition])


def signal_unlanded(message: Message) -> dict[str, Any] | None:
    """The watcher's apply_function: the asset event's payload for a message not landed yet, else
    None (the trigger reads on). EOF markers call for no build."""
    topic, partition, offset = message.topic() or "", message.partition() or 0, message.offset() or 0
    if is_eof(message.value()) or _landed_offsets().landed(topic, partition, offset):
        return None
    _, sent_ms = message.timestamp()
    return {"topic": topic, "partition": partition, "offset": offset, "sent_at_ms": sent_ms}


def land_backlog(settings: Settings, topic: str) -> dict[str, Any]:
    """Land what topic holds now, exactly once (streaming.consumer), and report it."""
    counter = Consumer(kafka_config(settings, default_group(settings)))
    try:
        waiting = backlog(counter, topic)
    finally:
        counter.close()
    payload: dict[str, Any] = {"topic": topic, "backlog": sum(waiting.values())}
    if payload["backlog"]:
        report = consume(
            settings, topic, max_messages=payload["backlog"], idle_timeout=LAND_IDLE_SECONDS, progress=False
        )
        payload.update(asdict(report), eof_partitions=sorted(report.eof_partitions))
    return payload
