"""The real local Kafka broker (KRaft): start, round-trip a message, idempotence, stop.

Most tests share the project's broker (default settings) and leave it running for other
tests; only the stop/start cycle gets its own LENDFLOW_HOME and port.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from lendflow import settings as settings_mod
from lendflow.services import kafka
from lendflow.services.base import pid_alive, port_is_open, read_pid
from lendflow.settings import Settings
from tests.conftest import OWN_CYCLED_BROKER_PORT

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def broker() -> Iterator[Settings]:
    s = settings_mod.load()
    if not s.kafka_is_local:
        pytest.skip("LENDFLOW_KAFKA_BOOTSTRAP points at an external cluster")
    kafka.start(s)  # idempotent: reuses the project's broker if it is already up
    yield s  # deliberately not stopped: later tests reuse it


def test_produce_and_consume_round_trip(broker: Settings) -> None:
    topic = f"test-roundtrip-{uuid.uuid4().hex[:12]}"
    kafka.ensure_topic(broker, topic)
    kafka.ensure_topic(broker, topic)  # second call is a no-op
    key, value = b"loan-42", b'{"loan_id": 42, "amount": "1250.00"}\x00\xff'

    producer = Producer({"bootstrap.servers": broker.kafka_bootstrap, "acks": "all"})
    delivered: list[str] = []
    producer.produce(topic, key=key, value=value, on_delivery=lambda err, msg: delivered.append(str(err)))
    assert producer.flush(30) == 0
    assert delivered == ["None"]

    consumer = Consumer(
        {
            "bootstrap.servers": broker.kafka_bootstrap,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        msg = None
        for _ in range(60):  # up to ~30 s: the first group join also creates __consumer_offsets
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                break
        assert msg is not None and msg.error() is None, msg and msg.error()
        assert (msg.topic(), msg.key(), msg.value()) == (topic, key, value)
    finally:
        consumer.close()


def test_start_is_idempotent_and_status_running(broker: Settings) -> None:
    pid = read_pid(broker.run_dir / "kafka.pid")
    assert pid is not None
    kafka.start(broker)
    assert read_pid(broker.run_dir / "kafka.pid") == pid
    st = kafka.status(broker)
    assert (st.name, st.running, st.address, st.external) == ("kafka", True, broker.kafka_bootstrap, False)


def test_stop_start_cycle_in_own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LENDFLOW_KAFKA_PORT", str(OWN_CYCLED_BROKER_PORT))
    monkeypatch.delenv("LENDFLOW_KAFKA_BOOTSTRAP", raising=False)
    s = settings_mod.load()
    # An id that starts with '-' (one in 64 random ids) is read as an option by the storage tool;
    # one left behind by an older version must be replaced, not fail every start.
    s.kafka_home.mkdir(parents=True)
    (s.kafka_home / "cluster.id").write_text("-" + "A" * 21 + "\n")
    pid_file = s.run_dir / "kafka.pid"
    pids: list[int] = []
    try:
        for _ in range(2):  # second round: storage already formatted, jars already there
            kafka.start(s)
            pid = read_pid(pid_file)
            assert pid is not None
            pids.append(pid)
            assert kafka.status(s).running
            assert kafka.usable_cluster_id((s.kafka_home / "cluster.id").read_text().strip())
            kafka.stop(s)
            assert not pid_alive(pid)
            assert not pid_file.exists()
            assert not port_is_open("127.0.0.1", s.kafka_port)
            assert not kafka.status(s).running
        kafka.stop(s)  # idempotent
    finally:
        kafka.stop(s)
        assert all(not pid_alive(p) for p in pids)
