"""`lendflow stream` end to end: the real broker, the real PostgreSQL, dbt in the process.

Each test starts the command as a subprocess on a database of its own (a new warehouse: the
first build is the whole project) and a topic of its own, sends loans with a Kafka producer,
and reads the marts the dashboard and the answers read.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from ingestion.land import land_file
from lendflow.raw_tables import ensure_raw_tables_exist
from lendflow.services.kafka import ensure_topic
from lendflow.settings import REPO_ROOT, Settings
from python_steps.run import StreamSteps
from streaming.micro_batches import MicroBatches
from streaming.producer import encode, producer_config

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

UPDATED_AMOUNT = 1234.0


@pytest.fixture(scope="module")
def records(small_sample: Path) -> list[dict[str, Any]]:
    """The stream sample's loans (new loan ids, every one usable), as the producer sends them."""
    return pq.read_table(small_sample / "stream.parquet").to_pylist()


@pytest.fixture
def warehouse(own_database: Callable[[str], Settings], kafka: Settings, request: pytest.FixtureRequest) -> Settings:
    """A new, empty warehouse per test: its counts are the test's messages only."""
    return own_database(f"stream_{request.node.name.removeprefix('test_')[:20]}")


def _topic(name: str) -> str:
    return f"h_stream_loans-{name}-{uuid.uuid4().hex[:8]}"


def _send(settings: Settings, topic: str, records: list[dict[str, Any]]) -> None:
    producer = Producer(producer_config(settings))
    for record in records:
        key, value = encode(record)
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
    assert producer.flush(60) == 0, "messages left undelivered"


def _query(settings: Settings, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def _execute(settings: Settings, statement: str) -> None:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(statement)


def _scalar(settings: Settings, statement: str, params: tuple[Any, ...] = ()) -> Any:
    return _query(settings, statement, params)[0][0]


def _totals(settings: Settings) -> int | None:
    """marts.dash_portfolio_totals.loans, the dashboard's count (None before the first build)."""
    if _scalar(settings, "select to_regclass('marts.dash_portfolio_totals') is null"):
        return None
    return _scalar(settings, "select loans from marts.dash_portfolio_totals")


def _quartile_loans(settings: Settings) -> int:
    """Loans the box-plot table counts: a `periodic` model, built whole by the periodic lane."""
    return int(_scalar(settings, "select sum(loans) from intermediate.int_loan_amount_quartiles_by_grade") or 0)


@contextmanager
def _stream(settings: Settings, topic: str, log: Path, *options: str) -> Iterator[subprocess.Popen[str]]:
    """`lendflow stream` on `topic` as a subprocess (killed if the test leaves it running)."""
    env = {**os.environ, "LENDFLOW_PG_DB": settings.pg_db, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "cli", "stream", "--topic", topic, "--group", f"g-{topic}",
               "--poll-interval", "0.5", *options]  # fmt: skip
    with log.open("a") as out:
        proc = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _wait_for(condition: Callable[[], object], timeout: float, what: str, proc: subprocess.Popen[str], log: Path,
              every: float = 0.5) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            tail = log.read_text()[-4000:]
            raise AssertionError(f"lendflow stream exited ({proc.returncode}) before {what}:\n{tail}")
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")


def _ended(proc: subprocess.Popen[str], log: Path, timeout: float) -> str:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"lendflow stream did not stop:\n{log.read_text()[-4000:]}") from None
    output = log.read_text()
    assert proc.returncode == 0, output[-4000:]
    return " ".join(output.split())  # log lines may wrap: compare words


def test_stream_brings_every_loan_to_the_marts_and_a_later_record_supersedes(
    warehouse: Settings, records: list[dict[str, Any]], tmp_path: Path
) -> None:
    topic, log = _topic("e2e"), tmp_path / "stream.log"
    first, later = records[:150], records[150:170]
    _send(warehouse, topic, first)
    with _stream(warehouse, topic, log) as proc:
        _wait_for(lambda: _totals(warehouse) == 150, 300, "the first loans to reach the dashboard totals", proc, log)
        sent_ids = {int(r["Loan Id"]) for r in first}
        assert {loan for (loan,) in _query(warehouse, "select loan_id from marts.fct_loans")} == sent_ids

        # a later record of a loan already built (a new amount) and new loans, while it runs
        updated = [{**r, "Loan Amount": UPDATED_AMOUNT, "Funded Amount": UPDATED_AMOUNT} for r in first[:5]]
        updated_ids = [int(r["Loan Id"]) for r in updated]
        _send(warehouse, topic, updated + later)

        def caught_up() -> bool:
            amounts = _query(
                warehouse, "select loan_amount from marts.fct_loans where loan_id = any(%s)", (updated_ids,)
            )
            return _totals(warehouse) == 170 and amounts == [(UPDATED_AMOUNT,)] * 5

        _wait_for(caught_up, 180, "the update and the new loans to reach the marts", proc, log)
        assert _scalar(warehouse, "select count(*) from marts.fct_loans") == 170
        # the batch's own titles were mapped (read from the batch, not from all of raw)
        raw_titles = [r["Emp Title"] for r in later if isinstance(r["Emp Title"], str)]
        titles = {title.strip(" ") for title in raw_titles} - {""}
        mapped = _query(
            warehouse, "select raw_title from python_steps.emp_title_map where raw_title = any(%s)", (sorted(titles),)
        )
        assert titles and {title for (title,) in mapped} == titles
        # a model that scans every loan whatever the batch waits for the periodic lane
        assert _quartile_loans(warehouse) <= 150
        total, amount = _query(warehouse, "select loans, total_loan_amount from marts.dash_portfolio_totals")[0]
        assert total == 170
        assert amount == pytest.approx(_scalar(warehouse, "select sum(loan_amount) from marts.fct_loans"))
        proc.send_signal(signal.SIGTERM)
        output = _ended(proc, log, timeout=180)
    assert "stopped by signal" in output
    assert "builds (0 failed)" in output  # every build of the reused manifest, snapshot and all
    assert "freshness" in output  # the per-cycle line off a terminal


def test_a_cycle_with_nothing_new_runs_no_dbt_and_the_periodic_lane_follows_a_build(
    warehouse: Settings, records: list[dict[str, Any]], tmp_path: Path
) -> None:
    topic, log = _topic("idle"), tmp_path / "stream.log"
    _send(warehouse, topic, records[:20])
    with _stream(warehouse, topic, log, "--until-idle", "--periodic-every", "0") as proc:
        _ended(proc, log, timeout=300)  # the whole project, built once
    _send(warehouse, topic, records[20:30])
    with _stream(warehouse, topic, log, "--max-cycles", "6", "--periodic-every", "1") as proc:
        output = _ended(proc, log, timeout=300)
    run = output[output.rindex("cycle 1:") :]
    # a cycle that landed messages (or the first: a build is owed at start) builds the stream
    # path, then the periodic lane (unit tests and all); one with nothing new builds nothing
    printed = re.findall(r"cycle (\d+): landed (\d+) of", run)
    builds = run.count("built ")
    assert builds == len(printed) < 6, run
    assert all(int(landed) > 0 for number, landed in printed if number != "1"), run
    assert run.count("periodic lane passed") == builds, run
    assert f"6 cycles, {builds} builds (0 failed), landed 10 of 10 messages; stopped by max-cycles" in run
    assert _totals(warehouse) == 30
    assert _quartile_loans(warehouse) == 30


def test_a_batch_waits_for_its_first_message_only(warehouse: Settings, records: list[dict[str, Any]]) -> None:
    """A cycle starts building as soon as messages are there, not after the whole poll interval
    (Kafka's consume() waits out its timeout unless it gets all the messages it asks for)."""
    topic = _topic("wait")
    values: list[str | None] = []
    with MicroBatches(warehouse, topic, group=f"g-{topic}") as batches:
        batches.next(wait=5)  # joins the group: nothing sent yet
        _send(warehouse, topic, records[:5])
        started = time.monotonic()
        while len(values) < 5 and time.monotonic() - started < 60:
            values += batches.next(wait=120).values
        waited = time.monotonic() - started
    assert sorted(values) == sorted(encode(r)[1].decode() for r in records[:5])  # as landed, in message_value
    assert waited < 60, f"next() waited {waited:.0f} s with its messages there"


def test_the_stream_steps_catch_up_when_a_batch_file_lands(warehouse: Settings, small_sample: Path) -> None:
    steps = StreamSteps(warehouse)
    steps.catch_up()  # nothing landed yet: no lambda can be fitted, so batches alone will not do
    assert not steps.caught_up and not steps.files_changed()
    land_file(small_sample / "loans.parquet", warehouse, progress=False)
    assert steps.files_changed()
    steps.catch_up()  # maps the file's titles and fits the lambdas
    assert steps.caught_up and not steps.files_changed()
    file_titles = {t.strip(" ") for t in pq.read_table(small_sample / "loans.parquet")["Emp Title"].to_pylist() if t}
    mapped = {title for (title,) in _query(warehouse, "select raw_title from python_steps.emp_title_map")}
    assert file_titles - {""} <= mapped


def test_a_failed_build_is_shown_and_retried_while_landing_goes_on(
    warehouse: Settings, records: list[dict[str, Any]], tmp_path: Path
) -> None:
    topic, log = _topic("fail"), tmp_path / "stream.log"
    _send(warehouse, topic, records[:20])
    with _stream(warehouse, topic, log) as proc:
        _wait_for(lambda: _totals(warehouse) == 20, 300, "the first build", proc, log)
        # a seed the stream path reads goes away: dbt fails, the Python steps and landing do not
        _execute(warehouse, "alter table seeds.purposes rename to purposes_away")
        _send(warehouse, topic, records[20:30])
        landed = "select count(*) from raw.loan_events where topic = %s"
        _wait_for(lambda: "build FAILED" in log.read_text(), 120, "a failed build", proc, log)
        _wait_for(lambda: _scalar(warehouse, landed, (topic,)) == 30, 60, "the landing", proc, log)
        assert _totals(warehouse) == 20
        _execute(warehouse, "alter table seeds.purposes_away rename to purposes")
        _wait_for(lambda: _totals(warehouse) == 30, 120, "the build retried", proc, log)
        proc.send_signal(signal.SIGTERM)
        output = _ended(proc, log, timeout=180)
    assert "purposes" in output  # dbt's error, shown
    assert "landed 30 of 30 messages; stopped by signal" in output


# --- kill -9 ---------------------------------------------------------------------------------
def _dbt_connected(settings: Settings) -> bool:
    return bool(
        _scalar(
            settings,
            "select count(*) from pg_stat_activity where datname = %s and application_name = 'dbt'",
            (settings.pg_db,),
        )
    )


@contextmanager
def _copy_watch(settings: Settings) -> Iterator[Callable[[], bool]]:
    """A check, through one connection kept open, that the landing COPY is running now."""
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        statement = (
            "select count(*) from pg_stat_activity where datname = %s and state = 'active'"
            " and query ilike 'copy raw.loan_events%%'"
        )
        yield lambda: conn.execute(statement, (settings.pg_db,)).fetchone() != (0,)


def _high_watermarks(settings: Settings, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"check-{topic}"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in metadata.partitions}
    finally:
        consumer.close()


def _kill_9(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.slow
def test_kill_9_while_building_and_while_landing_loses_and_duplicates_nothing(
    warehouse: Settings, records: list[dict[str, Any]], tmp_path: Path
) -> None:
    topic, log = _topic("kill"), tmp_path / "stream.log"
    ensure_topic(warehouse, topic)
    ensure_raw_tables_exist(warehouse)  # the owner's part (as `lendflow up`): the test counts rows from the start
    events = "select count(*) from raw.loan_events where topic = %s"

    # 1. killed while dbt builds what it landed: those offsets are committed, Kafka will not
    #    deliver them again, so the restarted process must build them anyway
    _send(warehouse, topic, records[:100])
    with _stream(warehouse, topic, log) as proc:
        _wait_for(lambda: _scalar(warehouse, events, (topic,)) == 100, 120, "the first batch to land", proc, log)
        _wait_for(lambda: _dbt_connected(warehouse), 120, "dbt to start building", proc, log, every=0.05)
        time.sleep(1.0)  # well inside the build (the first one is the whole project)
        _kill_9(proc)
    assert _totals(warehouse) != 100, "the build finished before the kill: nothing was interrupted"
    with _stream(warehouse, topic, log, "--until-idle") as proc:  # nothing new on the topic: it builds anyway
        _ended(proc, log, timeout=300)
    assert _totals(warehouse) == 100

    # 2. killed while landing a big batch (every loan again, many times): the transaction never
    #    committed and neither did its offsets, so Kafka delivers it again
    again = records * 60
    _send(warehouse, topic, again)
    with _copy_watch(warehouse) as copying, _stream(warehouse, topic, log) as proc:
        _wait_for(copying, 120, "the batch's COPY", proc, log, every=0.01)
        _kill_9(proc)
    assert _scalar(warehouse, events, (topic,)) == 100, "the batch committed before the kill"

    # 3. restarted: it lands everything once, builds, and stops when the topic is all built
    with _stream(warehouse, topic, log, "--until-idle") as proc:
        output = _ended(proc, log, timeout=600)
    assert "stopped by idle" in output

    sent = 100 + len(again)
    highs = _high_watermarks(warehouse, topic)
    assert sum(highs.values()) == sent
    landed = _query(
        warehouse,
        "select kafka_partition, count(*), count(distinct kafka_offset), min(kafka_offset), max(kafka_offset)"
        " from raw.loan_events where topic = %s group by 1 order by 1",
        (topic,),
    )
    # every offset of every partition, each once: nothing lost, nothing duplicated
    assert landed == [(p, high, high, 0, high - 1) for p, high in sorted(highs.items()) if high]
    sent_ids = {int(r["Loan Id"]) for r in records}
    loans = _query(warehouse, "select loan_id from marts.fct_loans")
    assert len(loans) == len(sent_ids) and {loan for (loan,) in loans} == sent_ids
    # the marts reconcile with raw: every landed message is a kept loan or a superseded record
    kept_and_superseded = _scalar(
        warehouse,
        "select count(*) from staging.stg_raw__loan_events where topic = %s and message_problem is null",
        (topic,),
    )
    assert kept_and_superseded == sent
    assert _totals(warehouse) == len(sent_ids)
    assert _scalar(warehouse, "select sum(loans) from marts.dash_loans_by_grade") == len(sent_ids)
