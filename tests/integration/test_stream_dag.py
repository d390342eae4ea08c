"""The event-driven DAG `lending_stream` under real Airflow components: loans sent to the topic start a
DAG run by themselves (the asset watcher in the triggerer, the scheduler, the executor) and reach
marts.fct_loans, landed exactly once.

`dag.test()` runs no watcher, so this starts `airflow standalone` (scheduler, triggerer, DAG
processor, API server) against a temporary AIRFLOW_HOME that holds only this DAG, on a warehouse
built once beforehand (the stream path builds on the batch build's tables).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, ConsumerGroupState
from confluent_kafka.admin import AdminClient

from lendflow.services.airflow import HEALTH_PATH, address, airflow_env, watch_group
from lendflow.services.kafka import ensure_topic
from lendflow.settings import Settings
from orchestration.stream_watch import backlog
from streaming.consumer import default_group, kafka_config
from tests.strategies import csv_loan_ids

pytestmark = [pytest.mark.airflow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

DAG_FILE = Path(__file__).resolve().parents[2] / "orchestration" / "dags" / "lending_stream.py"
# Loans the batch build holds, and loans the stream sends: small, the figures are about latency.
BATCH_LOANS = 300
STREAM_LOANS = 40
PRODUCER = "dbt.dbt_producer_watcher"  # Cosmos's one `dbt build` of the stream path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(what: str, seconds: float, found: Callable[[], Any], log: Path) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.5)
    tail = log.read_text()[-6000:] if log.is_file() else ""
    raise AssertionError(f"no {what} within {seconds:.0f} s; Airflow's log ends:\n{tail}")


@dataclass(frozen=True)
class Airflow:
    settings: Settings
    metadata_db: Path
    log: Path

    def dag_runs(self) -> list[tuple[str, str]]:
        """(run_type, state) of every run of lending_stream so far."""
        if not self.metadata_db.is_file():
            return []
        with sqlite3.connect(self.metadata_db) as conn:
            try:
                rows = conn.execute("select run_type, state from dag_run where dag_id = 'lending_stream'").fetchall()
            except sqlite3.OperationalError:  # tables not migrated yet
                return []
        return [(str(run_type), str(state)) for run_type, state in rows]

    def first_run_built(self) -> tuple[str, dict[str, str]] | None:
        """(run type, states of its steps) of the first run, once its dbt build has ended."""
        with sqlite3.connect(self.metadata_db) as conn:
            rows = conn.execute(
                """select r.run_type, t.task_id, t.state
                   from dag_run r join task_instance t using (dag_id, run_id)
                   where r.id = (select min(id) from dag_run where dag_id = 'lending_stream')
                     and t.task_id in (?, ?, ?)""",
                ("land_topic", "python_steps", PRODUCER),
            ).fetchall()
        states = {str(task_id): str(state) for _, task_id, state in rows}
        if states.get(PRODUCER) not in {"success", "failed", "upstream_failed"}:
            return None
        return str(rows[0][0]), states


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sample.files import write_sample

    out = tmp_path_factory.mktemp("stream_dag_sample")
    write_sample(out, rows=BATCH_LOANS, seed=23, stream_rows=STREAM_LOANS, formats=("csv",), progress=False)
    return out


@pytest.fixture(scope="module")
def warehouse(own_database: Callable[[str], Settings], kafka: Settings, sample: Path, dbt_manifest: Path) -> Settings:
    """A warehouse built once from a batch file (its tables only: its tests are not this test's
    subject), and a topic of its own."""
    from ingestion.land import land_file
    from lendflow.dbt import run_dbt
    from python_steps.run import run as python_steps

    settings = replace(own_database("event_dag"), kafka_topic=f"h_event_dag_{uuid.uuid4().hex[:8]}")
    land_file(sample / "loans.csv", settings, progress=False)
    python_steps(settings, refit=True)
    run_dbt(["build", "--full-refresh", "--exclude-resource-type", "test", "unit_test"], settings)
    ensure_topic(settings, settings.kafka_topic)  # the watcher subscribes to a topic that exists
    return settings


@pytest.fixture(scope="module")
def airflow(warehouse: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    home = tmp_path_factory.mktemp("airflow_home")
    dags = home / "dags"
    dags.mkdir()
    (dags / DAG_FILE.name).write_text(DAG_FILE.read_text())  # this DAG alone: nothing else to parse or run
    settings = replace(warehouse, airflow_port=_free_port())
    metadata_db = home / "airflow.db"
    env = {
        **os.environ,
        **airflow_env(settings),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{metadata_db}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(24),
        "LENDFLOW_KAFKA_TOPIC": settings.kafka_topic,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = home / "standalone.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), "standalone"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the teardown stops every component it started
        )
    try:
        yield Airflow(settings, metadata_db, log)
    finally:
        _stop_process_group(process)


def _stop_process_group(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM to every process of standalone's group, SIGKILL to what is left after `grace` s:
    the scheduler can outlive standalone itself, still in its group."""
    os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reap standalone itself
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _watcher_listening(settings: Settings) -> bool:
    """The trigger's consumer holds the topic's partitions in the watcher's group."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    (future,) = admin.describe_consumer_groups([watch_group(settings)], request_timeout=5).values()
    try:
        group = future.result()
    except Exception:  # the group does not exist until the trigger first joins it
        return False
    return bool(group.state == ConsumerGroupState.STABLE and group.members)


def _api_serving(settings: Settings) -> bool:
    """Tasks report to the API server: a run started before it answers waits for it (~30 s here)."""
    try:
        with urllib.request.urlopen(address(settings).rstrip("/") + HEALTH_PATH, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _visible(dsn: str, loan_ids: set[int]) -> set[int]:
    """Those of loan_ids the marts serve, or quarantined (every loan ends in one of the two)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """select loan_id::text from marts.fct_loans where loan_id::text = any(%(ids)s)
               union select loan_id::text from marts.fct_quarantined_loans where loan_id::text = any(%(ids)s)""",
            {"ids": [str(i) for i in loan_ids]},
        ).fetchall()
    return {int(loan_id) for (loan_id,) in rows}


@pytest.mark.timeout(600)
def test_loans_sent_to_the_topic_start_a_run_and_reach_the_marts(airflow: Airflow, sample: Path) -> None:
    from streaming.producer import produce

    settings = airflow.settings
    _wait_for("watcher in the triggerer", 150, lambda: _watcher_listening(settings), airflow.log)
    _wait_for("API server", 60, lambda: _api_serving(settings), airflow.log)
    time.sleep(2)  # the new group starts at the topic's end: let it fetch that position first
    assert airflow.dag_runs() == []

    expected = csv_loan_ids(sample / "stream.csv")
    sent_at = time.monotonic()
    sent = produce(sample / "stream.csv", settings, progress=False)
    visible = _wait_for(
        "a loan of the stream in the marts", 240, lambda: _visible(settings.pg_dsn, expected), airflow.log
    )
    first_visible = time.monotonic() - sent_at
    _wait_for(
        "every loan of the stream in the marts",
        120,
        lambda: _visible(settings.pg_dsn, expected) == expected,
        airflow.log,
    )
    all_visible = time.monotonic() - sent_at
    print(
        f"\nlending_stream freshness, {sent.messages} loans sent at once: first visible in fct_loans after "
        f"{first_visible:.1f} s, all after {all_visible:.1f} s ({len(visible)} at the first look)"
    )

    # The watcher started the run; it landed the topic, mapped the titles and built the path. (The
    # per-model tasks that report the build's nodes after it are left: minutes, and not this test's.)
    built = _wait_for("the first run's dbt build", 120, lambda: airflow.first_run_built(), airflow.log)
    assert built == ("asset_triggered", {"land_topic": "success", "python_steps": "success", PRODUCER: "success"})
    assert all(run_type == "asset_triggered" for run_type, _ in airflow.dag_runs())

    # Exactly once: every message landed once, and the landing group (not the watcher's) says so.
    with psycopg.connect(settings.pg_dsn) as conn:
        landed, distinct = conn.execute(
            "select count(*), count(distinct (kafka_partition, kafka_offset)) from raw.loan_events where topic = %s",
            (settings.kafka_topic,),
        ).fetchone() or (0, 0)
    assert landed == distinct == sent.messages + sent.eof_markers
    counter = Consumer(kafka_config(settings, default_group(settings)))
    try:
        assert sum(backlog(counter, settings.kafka_topic).values()) == 0
    finally:
        counter.close()
    assert json.loads(airflow_env(settings)["AIRFLOW_CONN_LENDFLOW_KAFKA_WATCH"])["extra"]["group.id"] != (
        default_group(settings)
    )
