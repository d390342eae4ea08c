"""The Kafka retries (tenacity): an offset commit, and reading a topic's partition count."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from streaming.consumer import _commit_offsets
from streaming.producer import ProducerError, _partition_count


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """tenacity's pauses, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr("tenacity.nap.time.sleep", waited.append)
    return waited


class FakeConsumer:
    def __init__(self, *failures: int) -> None:
        self.failures = list(failures)  # the Kafka error code of each failing call, in order
        self.calls: list[Any] = []

    def commit(self, *, offsets: Any, asynchronous: bool) -> None:
        self.calls.append(offsets)
        if self.failures:
            raise KafkaException(KafkaError(self.failures.pop(0)))


def _message(partition: int, offset: int) -> Any:
    return SimpleNamespace(topic=lambda: "loans", partition=lambda: partition, offset=lambda: offset)


BATCH = [_message(0, 4), _message(0, 7), _message(1, 2)]


def test_a_commit_is_retried_through_a_broker_restart(no_waiting: list[float]) -> None:
    consumer = FakeConsumer(KafkaError._TRANSPORT, KafkaError._TRANSPORT)
    _commit_offsets(consumer, BATCH)  # type: ignore[arg-type]
    assert len(consumer.calls) == 3
    assert sorted((tp.partition, tp.offset) for tp in consumer.calls[-1]) == [(0, 8), (1, 3)]
    assert no_waiting == [0.5, 1.0]


def test_a_commit_of_a_gone_generation_is_not_retried() -> None:
    consumer = FakeConsumer(KafkaError.ILLEGAL_GENERATION)
    _commit_offsets(consumer, BATCH)  # type: ignore[arg-type]
    assert len(consumer.calls) == 1


def test_a_commit_that_keeps_failing_is_left_to_the_next_batch() -> None:
    consumer = FakeConsumer(*[KafkaError._TRANSPORT] * 9)
    _commit_offsets(consumer, BATCH, attempts=5)  # type: ignore[arg-type]
    assert len(consumer.calls) == 5


class FakeProducer:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers

    def list_topics(self, topic: str, timeout: float) -> Any:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        found = None if answer is None else SimpleNamespace(error=None, partitions=dict.fromkeys(range(answer)))
        return SimpleNamespace(topics={topic: found} if found else {})


def test_the_partition_count_is_read_once_the_broker_knows_the_topic() -> None:
    producer = FakeProducer([KafkaException(KafkaError(KafkaError._TRANSPORT)), None, 3])
    assert _partition_count(producer, "loans") == 3  # type: ignore[arg-type]


def test_a_topic_that_never_appears_is_reported() -> None:
    with pytest.raises(ProducerError, match="cannot read the partitions of loans: topic metadata: missing"):
        _partition_count(FakeProducer([None]), "loans", timeout=0)  # type: ignore[arg-type]
