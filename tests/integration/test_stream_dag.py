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
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer

from lendflow.services.airflow import Standalone, airflow_env, standalone
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
DAG_ID = "lending_stream"
PRODUCER = "dbt.dbt_producer_watcher"  # Cosmos's one `dbt build` of the stream path


def _wait_for(what: str, seconds: float, found: Callable[[], Any], log: Path) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.5)
    tail = log.read_text()[-6000:] if log.is_file() else ""
    raise AssertionError(f"no {what} within {seconds:.0f} s; Airflow's log ends:\n{tail}")


def _first_run_built(airflow: Standalone) -> tuple[str, dict[str, str]] | None:
    """(run type, states of its steps) of the first run, once its dbt build has ended."""
    with contextlib.closing(sqlite3.connect(airflow.metadata_db)) as conn:
        rows = conn.execute(
            """select r.run_type, t.task_id, t.state
               from dag_run r join task_instance t using (dag_id, run_id)
               where r.id = (select min(id) from dag_run where dag_id = ?)
                 and t.task_id in (?, ?, ?)""",
            (DAG_ID, "land_topic", "python_steps", PRODUCER),
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
def airflow(warehouse: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:
    with standalone(warehouse, [DAG_FILE], tmp_path_factory.mktemp("airflow_home")) as running:
        yield running


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
def test_loans_sent_to_the_topic_start_a_run_and_reach_the_marts(airflow: Standalone, sample: Path) -> None:
    from streaming.producer import produce

    settings = airflow.settings
    airflow.wait_until_ready()
    assert airflow.dag_runs(DAG_ID) == []

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
    built = _wait_for("the first run's dbt build", 120, lambda: _first_run_built(airflow), airflow.log)
    assert built == ("asset_triggered", {"land_topic": "success", "python_steps": "success", PRODUCER: "success"})
    assert all(run_type == "asset_triggered" for run_type, _ in airflow.dag_runs(DAG_ID))

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
