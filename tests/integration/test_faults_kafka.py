"""Crashes during a streaming run, against the real broker and database: nothing lost, nothing twice.

* kill -9 of the consumer at random points of a 100,000-message run, at least five times;
* a restart of the Kafka broker in the middle of a run (our own broker, on its own port and
  state folder, so the broker the rest of the suite shares is never touched).
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from lendflow import settings as settings_mod
from lendflow.raw_tables import ensure_raw_tables_exist
from lendflow.services import kafka as broker
from lendflow.services.kafka import ensure_topic
from lendflow.settings import Settings
from sample.files import write_sample
from streaming.producer import ProduceReport, produce
from tests.conftest import OWN_BROKER_PORT

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def _landed(settings: Settings, topic: str) -> tuple[int, int]:
    """(rows, distinct (partition, offset)) of the topic in raw.loan_events."""
    with psycopg.connect(settings.pg_dsn) as conn:
        row = conn.execute(
            "select count(*), count(distinct (kafka_partition, kafka_offset)) from raw.loan_events where topic = %s",
            (topic,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _offsets_are_complete(settings: Settings, topic: str) -> bool:
    """Every partition holds offsets 0..n-1 with no hole: nothing was skipped."""
    with psycopg.connect(settings.pg_dsn) as conn:
        rows = conn.execute(
            "select kafka_partition, count(*), min(kafka_offset), max(kafka_offset) from raw.loan_events"
            " where topic = %s group by kafka_partition",
            (topic,),
        ).fetchall()
    return all(low == 0 and high == n - 1 for _p, n, low, high in rows)


def _consumer(settings: Settings, topic: str, group: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, "LENDFLOW_PG_DB": settings.pg_db, **(extra_env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "consume", "--topic", topic, "--group", group, "--batch-size", "500"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(autouse=True)
def raw_tables(postgres: Settings) -> None:
    ensure_raw_tables_exist(postgres)  # the tests count rows before the first consumer creates them


@pytest.fixture(scope="module")
def stream_100k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stream100k")
    return write_sample(out, rows=10, seed=11, stream_rows=100_000, formats=("csv",), progress=False).stream_csv  # type: ignore[return-value]


def test_kill_9_the_consumer_again_and_again(postgres: Settings, kafka: Settings, stream_100k: Path) -> None:
    topic, group = f"test-kill9-{uuid.uuid4().hex[:10]}", f"g-kill9-{uuid.uuid4().hex[:6]}"
    sent = produce(stream_100k, kafka, topic, progress=False)
    assert sent.messages == 100_000
    expected = sent.messages + sent.eof_markers
    rng = random.Random(20261127)
    kills = 0
    while kills < 5:
        before = _landed(postgres, topic)[0]
        proc = _consumer(postgres, topic, group)
        try:
            # Kill at a random moment once it is landing (mid-batch, mid-commit, anywhere).
            _wait_for(lambda: _landed(postgres, topic)[0] > before or proc.poll() is not None, 60, "progress")  # noqa: B023
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(10)
        assert _landed(postgres, topic)[0] < expected, "finished before five kills: lower the batch size"
    proc = _consumer(postgres, topic, group)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert _landed(postgres, topic) == (expected, expected)
    assert _offsets_are_complete(postgres, topic)


@pytest.fixture
def own_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A broker of this test's own: restarting it disturbs no one else."""
    with monkeypatch.context() as env:
        env.setenv("LENDFLOW_HOME", str(tmp_path / "home"))
        env.setenv("LENDFLOW_KAFKA_PORT", str(OWN_BROKER_PORT))
        env.delenv("LENDFLOW_KAFKA_BOOTSTRAP", raising=False)
        own = settings_mod.load()
    if not settings_mod.load().kafka_is_local:
        pytest.skip("LENDFLOW_KAFKA_BOOTSTRAP points at an external cluster")
    broker.start(own)
    try:
        yield own
    finally:
        broker.stop(own)


def test_broker_restart_in_the_middle_of_a_run(postgres: Settings, own_broker: Settings, stream_100k: Path) -> None:
    # The producer and consumer reach our broker as an "external" one; PostgreSQL stays the suite's.
    settings = dataclasses.replace(postgres, kafka_bootstrap_override=own_broker.kafka_bootstrap)
    topic, group = f"test-restart-{uuid.uuid4().hex[:10]}", "g-restart"
    ensure_topic(settings, topic)
    produced: dict[str, object] = {}

    def producer() -> None:
        try:
            # 20 s of sending: the consumer (a new process that joins a group first) must have
            # landed some while the producer still sends, even on a loaded machine (at 4,000/s
            # the producer once finished before the consumer had landed 2,000)
            produced["report"] = produce(stream_100k, settings, topic, rate=1_000, limit=20_000, progress=False)
        except Exception as error:  # surfaced by the assertion below
            produced["error"] = error

    thread = threading.Thread(target=producer, daemon=True)
    thread.start()
    proc = _consumer(postgres, topic, group, {"LENDFLOW_KAFKA_BOOTSTRAP": own_broker.kafka_bootstrap})
    try:
        _wait_for(lambda: _landed(postgres, topic)[0] > 2_000 or proc.poll() is not None, 60, "the run to get going")
        assert proc.poll() is None, f"the consumer died before the restart: {proc.communicate()[1]}"
        # In the middle of the run: the producer is still sending (20,000 at 1,000/s) when the broker goes.
        mid_run = thread.is_alive() and _landed(postgres, topic)[0] < 20_000
        assert mid_run, f"the run ended before the restart: {produced}"
        broker.stop(own_broker)
        # Down for longer than the consumer's session timeout (6 s): every run goes through the
        # session timing out and the group rebalancing, the path that used to hang now and then
        # (with a 1 s pause it only happened when a loaded machine made the restart slow).
        time.sleep(8.0)
        broker.start(own_broker)
        # The producer first: without its EOF markers the consumer would wait forever, so its
        # failure is the one to report (and at once).
        thread.join(60)
        assert not thread.is_alive(), "the producer did not finish within 60 s of the restart"
        assert "error" not in produced, f"the producer failed: {produced['error']!r}"
        _, err = proc.communicate(timeout=60)
        print(f"consumer stderr:\n{err}")  # shown when the test fails: the rebalance, the retries
    finally:
        if proc.poll() is None:
            proc.kill()
            _, err = proc.communicate()
            print(f"consumer stderr:\n{err}")
    assert proc.returncode == 0, err
    sent = produced["report"]
    assert isinstance(sent, ProduceReport) and sent.messages == 20_000, sent
    expected = sent.messages + sent.eof_markers
    assert _landed(postgres, topic) == (expected, expected)
    assert _offsets_are_complete(postgres, topic)
