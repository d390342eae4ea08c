"""The event-driven DAG `lending_stream`: it parses, it is scheduled on the topic through a Kafka asset
watcher with a consumer group of its own, and it lands the topic before building the stream path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lendflow.services.airflow import WATCH_CONNECTION_ID, airflow_env, watch_group
from lendflow.settings import Settings
from orchestration import stream_watch
from orchestration.stream_watch import LandedOffsets
from streaming.consumer import default_group

DAG_FILE = Path(__file__).resolve().parents[2] / "orchestration" / "dags" / "lending_stream.py"


@pytest.fixture(scope="module")
def dag(settings: Settings, dbt_manifest: Path) -> Any:
    from lendflow.services.airflow import activate, ensure_db

    activate(settings)
    ensure_db(settings)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.get_dag("lending_stream")


def test_the_dag_is_scheduled_on_the_topic_by_a_kafka_watcher(dag: Any, settings: Settings) -> None:
    (asset,) = dag.timetable.asset_condition.objects
    assert asset.uri == f"kafka://{settings.kafka_bootstrap}/{settings.kafka_topic}"
    (watcher,) = asset.watchers
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "airflow.providers.apache.kafka.triggers.await_message.AwaitMessageTrigger"
    assert kwargs["topics"] == [settings.kafka_topic]
    assert kwargs["kafka_config_id"] == WATCH_CONNECTION_ID
    module, name = kwargs["apply_function"].rsplit(".", 1)
    assert getattr(stream_watch, name) is stream_watch.signal_unlanded and module == stream_watch.__name__
    assert dag.max_active_runs == 1


def test_the_watcher_reads_with_a_group_of_its_own(settings: Settings) -> None:
    """The trigger commits its place in its own group; the landing group's offsets move only with rows."""
    connection = json.loads(airflow_env(settings)[f"AIRFLOW_CONN_{WATCH_CONNECTION_ID.upper()}"])
    assert connection["conn_type"] == "kafka"
    assert connection["extra"]["bootstrap.servers"] == settings.kafka_bootstrap
    assert connection["extra"]["group.id"] == watch_group(settings) != default_group(settings)


def test_it_lands_the_topic_maps_new_titles_then_builds_the_stream_path_in_one_build(dag: Any) -> None:
    assert [task.task_id for task in dag.roots] == ["land_topic"]
    assert dag.get_task("python_steps").upstream_task_ids == {"land_topic"}
    producer = dag.get_task("dbt.dbt_producer_watcher")
    assert producer.upstream_task_ids == {"python_steps"}
    assert producer.select == "stg_raw__loan_events+"
    assert producer.exclude == "resource_type:unit_test"
    task_ids = set(dag.task_ids)
    assert {"dbt.stg_raw__loan_events_run", "dbt.fct_loans.run", "dbt.dash_portfolio_totals.run"} <= task_ids
    # Not on the stream path: the batch files' staging and the Python steps' tables.
    assert not {task_id for task_id in task_ids if "stg_raw__loans" in task_id or "stg_python_steps" in task_id}
    assert dag.get_task("dbt.fct_loans.run").outlets[0].uri.endswith("/marts/fct_loans")


def test_landed_offsets_ask_kafka_only_past_what_is_known() -> None:
    asked: list[tuple[str, int]] = []
    committed = {("t", 0): 5}

    def lookup(topic: str, partition: int) -> int:
        asked.append((topic, partition))
        return committed.get((topic, partition), 0)

    offsets = LandedOffsets(lookup)
    assert offsets.landed("t", 0, 3)  # below the committed offset: landed
    assert offsets.landed("t", 0, 4) and len(asked) == 1  # known already: no second question
    assert not offsets.landed("t", 0, 5) and len(asked) == 2  # at the commit: not landed yet
    committed[("t", 0)] = 9
    assert offsets.landed("t", 0, 6) and len(asked) == 3  # the landing moved on meanwhile
    assert not offsets.landed("t", 1, 0)  # a partition of its own


@dataclass
class FakeMessage:
    """The confluent-kafka Message methods the filter reads."""

    value_: bytes
    offset_: int
    partition_: int = 0

    def topic(self) -> str:
        return "loans"

    def partition(self) -> int:
        return self.partition_

    def offset(self) -> int:
        return self.offset_

    def value(self) -> bytes:
        return self.value_

    def timestamp(self) -> tuple[int, int]:
        return 1, 1_700_000_000_000


def test_only_messages_not_landed_yet_signal_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_watch, "_landed_offsets", lambda: LandedOffsets(lambda _t, _p: 10))
    assert stream_watch.signal_unlanded(FakeMessage(b"1,2,3", offset_=9)) is None
    assert stream_watch.signal_unlanded(FakeMessage(b"EOF", offset_=10)) is None
    payload = stream_watch.signal_unlanded(FakeMessage(b"1,2,3", offset_=10, partition_=2))
    assert payload == {"topic": "loans", "partition": 2, "offset": 10, "sent_at_ms": 1_700_000_000_000}
    json.dumps(payload)  # an asset event's extra: JSON
