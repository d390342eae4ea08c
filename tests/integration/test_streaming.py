"""The Kafka stream into the real PostgreSQL, through the real broker: exactly once, untouched."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from lendflow.raw_columns import RAW_COLUMNS
from lendflow.services.kafka import ensure_topic
from lendflow.settings import Settings
from streaming.consumer import consume
from streaming.producer import produce
from tests.fixtures.bad_inputs import GOOD, HEADER, message_cases

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture
def services(postgres: Settings, kafka: Settings) -> Settings:
    return postgres


def _topic(name: str) -> str:
    return f"test-{name}-{uuid.uuid4().hex[:10]}"


def _events(settings: Settings, topic: str) -> list[tuple]:
    with psycopg.connect(settings.pg_dsn) as conn:
        return conn.execute(
            "select kafka_partition, kafka_offset, message_key, message_key_bytes, message_value, message_value_bytes"
            " from raw.loan_events where topic = %s order by kafka_partition, kafka_offset",
            (topic,),
        ).fetchall()


def test_produce_then_consume_lands_every_loan_untouched_and_once(services: Settings, small_sample: Path) -> None:
    topic = _topic("roundtrip")
    path = small_sample / "stream.csv"
    sent = produce(path, services, topic, progress=False)
    assert (sent.messages, sent.eof_markers) == (500, 3)

    report = consume(services, topic, group=f"g-{topic}", progress=False)
    assert report.stopped_by == "eof"
    assert (report.messages, report.landed) == (503, 503)
    assert report.eof_partitions == {0, 1, 2}

    events = _events(services, topic)
    assert len(events) == 503 == len({(p, o) for p, o, *_ in events})
    with open(path, newline="", encoding="utf-8") as handle:
        expected = {
            row["Loan Id"]: {k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)
        }
    loans = [e for e in events if e[4] != "EOF"]
    assert len(loans) == 500
    for _partition, _offset, key, key_bytes, value, value_bytes in loans:
        assert key_bytes is None and value_bytes is None
        record = json.loads(value)
        assert list(record) == list(RAW_COLUMNS)
        assert record == expected[key]  # every value as in the file, " 36 months" and all

    # A second consumer group reads everything again: nothing lands twice.
    again = consume(services, topic, group=f"g2-{topic}", progress=False)
    assert (again.messages, again.landed) == (503, 0)
    assert len(_events(services, topic)) == 503


def test_two_warehouses_on_one_topic_each_land_every_message(services: Settings, small_sample: Path) -> None:
    """With their default consumer groups: a group shared by two warehouses would split the messages."""
    from lendflow.services import postgres
    from streaming.consumer import default_group

    other = replace(services, pg_db=f"{services.pg_db}_second_warehouse")
    assert default_group(other) != default_group(services)
    postgres.recreate_database(other)
    topic = _topic("two-warehouses")
    produce(small_sample / "stream.csv", services, topic, progress=False)
    try:
        for warehouse in (services, other):
            report = consume(warehouse, topic, progress=False, idle_timeout=30)
            assert (report.messages, report.landed) == (503, 503), warehouse.pg_db
            assert len(_events(warehouse, topic)) == 503
    finally:
        postgres.drop_database(other)


def test_course_style_producer_with_a_single_eof(services: Settings, small_sample: Path) -> None:
    """kafka-python, no key, json.dumps of each row, one plain EOF: the format DATA.md describes."""
    from kafka import KafkaProducer

    topic = _topic("course")
    ensure_topic(services, topic)  # 3 partitions: the single EOF ends up on one of them
    producer = KafkaProducer(
        bootstrap_servers=services.kafka_bootstrap, value_serializer=lambda v: json.dumps(v).encode("utf-8")
    )
    with open(small_sample / "stream.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:300]
    for row in rows:
        producer.send(topic, value=row)
    producer.send(topic, value="EOF")  # json.dumps("EOF") is '"EOF"': accepted too
    producer.flush()
    producer.close()

    report = consume(services, topic, group=f"g-{topic}", progress=False)
    assert report.stopped_by == "eof"
    assert len(report.eof_partitions) == 1
    events = _events(services, topic)
    assert len(events) == 301
    assert sum(1 for e in events if e[4] == '"EOF"') == 1
    assert all(e[2] is None for e in events)


def test_caught_up_lands_a_topic_without_eof_and_stops_at_its_end(services: Settings, small_sample: Path) -> None:
    """No EOF on the topic: --caught-up lands what it holds and stops there, not after an idle
    wait; a second consumer of the group lands nothing and stops too; a message sent later is
    landed by the next one."""
    topic = _topic("caught-up")
    produced = produce(small_sample / "stream.csv", services, topic, limit=200, send_eof=False, progress=False)
    group = f"g-{topic}"

    first = consume(services, topic, group=group, caught_up=True, idle_timeout=120, progress=False)
    assert (first.stopped_by, first.landed) == ("caught-up", produced.messages)
    again = consume(services, topic, group=group, caught_up=True, idle_timeout=120, progress=False)
    assert (again.stopped_by, again.landed) == ("caught-up", 0)

    produce(small_sample / "stream.csv", services, topic, limit=1, send_eof=False, progress=False)
    later = consume(services, topic, group=group, caught_up=True, idle_timeout=120, progress=False)
    assert (later.stopped_by, later.landed) == ("caught-up", 1)
    assert len(_events(services, topic)) == produced.messages + 1


def test_bad_messages_are_landed_byte_for_byte(services: Settings) -> None:
    topic = _topic("bad")
    ensure_topic(services, topic, partitions=1)
    producer = Producer({"bootstrap.servers": services.kafka_bootstrap, "message.max.bytes": 2_000_000})
    cases = message_cases()
    for case in cases:
        producer.produce(topic, key=case.key, value=case.value)
    producer.produce(topic, value=b"EOF")
    assert producer.flush(30) == 0

    report = consume(services, topic, group=f"g-{topic}", progress=False)
    assert report.landed == len(cases) + 1
    events = _events(services, topic)
    for case, (_p, _o, key, key_bytes, value, value_bytes) in zip(cases, events, strict=False):
        assert (key_bytes if key_bytes is not None else (key.encode() if key is not None else None)) == case.key, case
        landed_value = value_bytes if value_bytes is not None else (value.encode() if value is not None else None)
        assert landed_value == case.value, case.name
        if value_bytes is not None:  # the text column still holds something readable
            assert "\x00" not in value


def test_ragged_lines_are_sent_and_landed_as_they_are(services: Settings, tmp_path: Path) -> None:
    """One message per record of the file, ragged ones too: each lands byte for byte, once."""
    lines = [
        GOOD,
        b"a,b",  # too few fields
        GOOD + b",extra",  # too many
        GOOD.replace(b"Teacher", b"Teach\xe9r"),  # not UTF-8
        GOOD.replace(b'"Teacher"', b'"Teach"er'),  # text after a closing quote
        GOOD.replace(b'" 36 months"', b'" 60 months"'),
        b"EOF",  # reads as the stream's end marker: must end nothing
        GOOD.replace(b"Teacher", b"Tea\x00cher"),  # NUL
    ]
    path = tmp_path / "ragged.csv"
    path.write_bytes(b"\n".join([HEADER, *lines]) + b"\n")
    topic = _topic("ragged")
    sent = produce(path, services, topic, progress=False)
    assert (sent.messages, sent.loans, sent.ragged) == (len(lines), 2, 6)

    report = consume(services, topic, group=f"g-{topic}", progress=False)
    assert report.stopped_by == "eof"
    assert report.landed == len(lines) + sent.eof_markers
    events = _events(services, topic)
    assert len(events) == len({(p, o) for p, o, *_ in events}) == len(lines) + sent.eof_markers
    landed = [value_bytes if value_bytes is not None else value.encode() for *_, value, value_bytes in events]
    assert landed.count(b"EOF") == sent.eof_markers
    ragged = [v for v in landed if not v.startswith(b'{"Customer Id"')]
    assert sorted(ragged) == sorted(
        [b"a,b", lines[2], lines[3], lines[4], lines[7], b'{"ragged_line": "EOF", "line_number": 8, '
         b'"reason": "expected 24 fields, found 1"}', *[b"EOF"] * sent.eof_markers]
    )  # fmt: skip
    loans = [json.loads(v) for v in landed if v.startswith(b'{"Customer Id"')]
    assert sorted(loan["Term"] for loan in loans) == [" 36 months", " 60 months"]


def _cli_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "LENDFLOW_PG_DB": settings.pg_db, "PYTHONUNBUFFERED": "1"}


def _wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_follow_keeps_going_after_eof_and_sigterm_stops_cleanly(services: Settings, small_sample: Path) -> None:
    topic = _topic("follow")
    group = f"g-{topic}"
    ensure_topic(services, topic)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "consume", "--topic", topic, "--group", group, "--follow",
         "--batch-size", "100"],
        env=_cli_env(services), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        produce(small_sample / "stream.csv", services, topic, limit=200, progress=False)
        _wait_for(lambda: len(_events(services, topic)) == 203, 60, "the first run to land")
        produce(small_sample / "stream.csv", services, topic, limit=50, progress=False)  # after EOF: still read
        _wait_for(lambda: len(_events(services, topic)) == 256, 30, "the second run to land")
        assert proc.poll() is None, "--follow must not stop at EOF"
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "stopped by signal" in output
    # Offsets were committed for everything landed: a restart has nothing to redo.
    consumer = Consumer({"bootstrap.servers": services.kafka_bootstrap, "group.id": group})
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
        highs = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(3)]
    finally:
        consumer.close()
    assert [tp.offset for tp in committed] == highs


def test_consumer_as_the_loader_role(services: Settings, small_sample: Path) -> None:
    from lendflow.services import roles

    if set(roles.bootstrap(services)) != {"loader", "transformer", "reader"}:
        pytest.skip("no least-privilege roles on this warehouse")
    topic = _topic("loader")
    produce(small_sample / "stream.parquet", services, topic, limit=100, progress=False)
    report = consume(services, topic, group=f"g-{topic}", dsn=services.role_dsn("loader"), progress=False)
    assert report.landed == 103
