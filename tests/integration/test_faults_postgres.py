"""PostgreSQL stops in the middle of a batch landing: a clear failure, nothing half-landed, and
the rerun lands the file exactly once. PostgreSQL crashes (immediate stop) while the consumer
writes: the consumer reconnects and every message lands exactly once.

The server stopped here is one of this test's own (its own state folder and port), never the
one the rest of the suite shares.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

from lendflow import settings as settings_mod
from lendflow.raw_tables import ensure_raw_tables_exist
from lendflow.services import postgres as pg
from lendflow.settings import Settings
from sample.files import write_sample
from streaming.producer import produce
from tests.conftest import OWN_PG_PORT

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def own_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    if not settings_mod.load().pg_is_local:
        pytest.skip("LENDFLOW_PG_DSN points at an external server")
    with monkeypatch.context() as env:
        env.setenv("LENDFLOW_HOME", str(tmp_path / "home"))
        env.setenv("LENDFLOW_PG_PORT", str(OWN_PG_PORT))
        own = settings_mod.load()
    pg.start(own)
    try:
        yield own
    finally:
        pg.stop(own)
        data = pg.data_dir(own)
        shutil.rmtree(data.parent, ignore_errors=True)
        if data.parent.parent.name.startswith("lendflow-"):  # the /var/tmp fallback of a root run
            shutil.rmtree(data.parent.parent, ignore_errors=True)


def _lendflow(settings: Settings, *args: str, output: int | IO[str] = subprocess.PIPE) -> subprocess.Popen:
    """`lendflow <args>` against the test's own server."""
    env = {
        **os.environ,
        "LENDFLOW_HOME": str(settings.home),
        "LENDFLOW_PG_PORT": str(settings.pg_port),
        "LENDFLOW_PG_DB": settings.pg_db,
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _land(settings: Settings, path: Path) -> subprocess.Popen:
    return _lendflow(settings, "land", str(path))


def _copy_in_progress(settings: Settings) -> bool:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        row = conn.execute("select coalesce(max(tuples_processed), 0) from pg_stat_progress_copy").fetchone()
    return row is not None and row[0] > 0


def test_postgres_stops_during_a_landing(own_postgres: Settings, tmp_path: Path) -> None:
    path = write_sample(tmp_path / "data", rows=300_000, seed=5, stream_rows=0, formats=("csv",), progress=False)
    csv_file = path.loans_csv
    assert csv_file is not None

    proc = _land(own_postgres, csv_file)
    deadline = time.monotonic() + 120
    while not _copy_in_progress(own_postgres):
        assert proc.poll() is None, proc.communicate()[0]  # it must still be copying when we pull the plug
        assert time.monotonic() < deadline
        time.sleep(0.02)
    pg.stop(own_postgres)
    output, _ = proc.communicate(timeout=60)
    print(output)
    output = " ".join(output.split())  # the console wraps long lines
    assert proc.returncode == 1, output
    assert "PostgreSQL" in output and "failed during the landing" in output and "rerun" in output
    assert "Traceback" not in output

    pg.start(own_postgres)
    with psycopg.connect(own_postgres.pg_dsn) as conn:
        assert conn.execute("select count(*) from raw.loans").fetchone() == (0,)
        assert conn.execute("select count(*) from raw.landed_files").fetchone() == (0,)

    rerun = _land(own_postgres, csv_file)
    output, _ = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, output
    assert "landed 300,000" in output
    again = _land(own_postgres, csv_file)
    output, _ = again.communicate(timeout=60)
    assert again.returncode == 0 and "already landed" in output, output
    with psycopg.connect(own_postgres.pg_dsn) as conn:
        assert conn.execute("select count(*), count(distinct _row_number) from raw.loans").fetchone() == (
            300_000,
            300_000,
        )


def _crash(settings: Settings) -> None:
    """`pg_ctl stop -m immediate`: the server quits without a checkpoint, as in a crash."""
    pg_ctl = str(pg.find_bindir() / "pg_ctl")
    command = pg._server_cmd(pg_ctl, "-D", str(pg.data_dir(settings)), "-m", "immediate", "-w", "stop")
    subprocess.run(command, check=True, capture_output=True)


def _landed_offsets(settings: Settings, topic: str) -> list[tuple[int, int]]:
    with psycopg.connect(settings.pg_dsn, connect_timeout=5) as conn:
        rows = conn.execute(
            "select kafka_partition, kafka_offset from raw.loan_events where topic = %s", (topic,)
        ).fetchall()
    return [(int(p), int(o)) for p, o in rows]


def _produced_offsets(settings: Settings, topic: str) -> set[tuple[int, int]]:
    """Every (partition, offset) the topic holds, from the broker's watermarks."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"watermarks-{topic}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        marks = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions}
    finally:
        consumer.close()
    return {(p, offset) for p, (low, high) in marks.items() for offset in range(low, high)}


@pytest.mark.kafka
def test_postgres_crashes_while_the_consumer_writes(own_postgres: Settings, kafka: Settings, tmp_path: Path) -> None:
    """Three crashes at different points of one run: the same consumer reconnects each time and
    the topic lands exactly once (the set of (partition, offset) is the topic's, no duplicate)."""
    sample = write_sample(tmp_path / "data", rows=10, seed=11, stream_rows=60_000, formats=("csv",), progress=False)
    assert sample.stream_csv is not None
    ensure_raw_tables_exist(own_postgres)  # counted before the consumer's first batch creates them
    topic = f"test-pg-crash-{uuid.uuid4().hex[:10]}"
    sent = produce(sample.stream_csv, own_postgres, topic, progress=False)
    total = sent.messages + sent.eof_markers
    produced = _produced_offsets(own_postgres, topic)
    assert len(produced) == total

    log_path = tmp_path / "consume.log"
    with open(log_path, "w") as log:
        proc = _lendflow(own_postgres, "consume", "--topic", topic, "--group", f"g-{topic}", "--batch-size", "200",
                         output=log)  # fmt: skip
        try:
            for share in (0.1, 0.4, 0.7):
                deadline = time.monotonic() + 120
                while len(_landed_offsets(own_postgres, topic)) < share * total:
                    assert proc.poll() is None, log_path.read_text()  # it must still be writing when it crashes
                    assert time.monotonic() < deadline, f"no progress to {share:.0%}"
                    time.sleep(0.05)
                _crash(own_postgres)
                time.sleep(1.5)  # the consumer meets the lost connection and retries
                assert proc.poll() is None, log_path.read_text()
                pg.start(own_postgres)
            proc.wait(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
    output = log_path.read_text()
    print(output)
    output = " ".join(output.split())  # the console wraps long lines
    assert proc.returncode == 0, output
    assert "PostgreSQL connection lost" in output and "reconnecting" in output
    assert "Traceback" not in output

    landed = _landed_offsets(own_postgres, topic)
    assert len(landed) == len(set(landed)) == total  # none twice, none lost
    assert set(landed) == produced
