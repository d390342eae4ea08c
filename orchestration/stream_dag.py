"""The event-driven DAG, scheduled on the Kafka topic: the orchestrated alternative to `lendflow stream`.

    asset kafka://<bootstrap>/<topic>, watched in Airflow's triggerer by a Kafka message-queue trigger
        -> land_topic (exactly once, the warehouse's consumer group) -> python_steps (new titles)
        -> dbt (the stream path)

The watcher reads the topic with a consumer group of its own (lendflow.services.airflow's watch
connection) and only signals; it never lands, and never commits the landing group's offsets
(orchestration/stream_watch.py). Airflow turns each signal into an asset event, and asset events
into DAG runs, one at a time (max_active_runs=1): events that arrive during a run start one
more run after it, which lands what came meanwhile.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from airflow.providers.apache.kafka.triggers.msg_queue import KafkaMessageQueueTrigger
from airflow.sdk import DAG, Asset, AssetWatcher, task

from lendflow import settings as config
from lendflow.services.airflow import WATCH_CONNECTION_ID
from lendflow.settings import Settings
from orchestration.config import DEFAULT_ARGS, CosmosConfigs, cosmos_configs
from orchestration.elt_dag import current_run_dir, dbt_task_group, declare_model_assets
from orchestration.manifest import model_asset_uris, read_manifest

TARGET = "postgres"
# The stream path: the staging of events -> the intermediate incrementals -> fct_loans -> the marts
# the dashboard and the answers read, with their data tests and without unit tests (they run with the
# full suite, in lending_elt). By the graph, as the selector `stream_path` of dbt_project/selectors.yml
# defines it for `lendflow stream`. Cosmos 1.15 renders a manifest's selector only through its own
# matcher, whose `fqn` method needs a whole fqn (project.folder...model): `fqn: stg_raw__loan_events`
# renders no task there, while dbt reads it as the model's name. Hence the same selection spelled in
# the forms both Cosmos and dbt read alike.
STREAM_SELECT = ["stg_raw__loan_events+"]
STREAM_EXCLUDE = ["resource_type:unit_test"]

DOC = """
Started by the topic: an asset watcher (Airflow's triggerer) reads every message and signals those the
warehouse has not landed yet. Each run lands what the topic holds (exactly once, as `lendflow consume`)
and builds the stream path of the dbt project (the events' staging and everything downstream) in one
`dbt build`.
"""


def stream_cosmos_configs(settings: Settings) -> CosmosConfigs:
    """The shared Cosmos configs (orchestration/config.py), rendering only the stream path."""
    shared = cosmos_configs(settings, TARGET)
    return replace(shared, render=replace(shared.render, select=STREAM_SELECT, exclude=STREAM_EXCLUDE))


def topic_asset(settings: Settings) -> Asset:
    """The topic as an asset, with the watcher that turns its new messages into asset events."""
    trigger = KafkaMessageQueueTrigger(
        topics=[settings.kafka_topic],
        kafka_config_id=WATCH_CONNECTION_ID,
        apply_function="orchestration.stream_watch.signal_unlanded",
        # poll_interval is a sleep after each message the filter skips: none, it would only delay
        # the next message's signal.
        poll_timeout=1,
        poll_interval=0,
    )
    return Asset(
        uri=f"kafka://{settings.kafka_bootstrap}/{settings.kafka_topic}",
        watchers=[AssetWatcher(name=f"new_loans_on_{settings.kafka_topic}", trigger=trigger)],
    )


def build_stream_dag(dag_id: str) -> DAG:
    settings = config.load()
    manifest = read_manifest(settings, TARGET)
    cosmos = stream_cosmos_configs(settings)
    with DAG(
        dag_id=dag_id,
        schedule=[topic_asset(settings)],
        start_date=datetime(2024, 1, 1),
        catchup=False,
        max_active_runs=1,  # runs share the warehouse; two at once would race on the same tables
        default_args=DEFAULT_ARGS,
        tags=["lendflow", TARGET, "stream"],
        doc_md=DOC,
    ) as dag:

        @task
        def land_topic() -> dict[str, Any]:
            from orchestration.artifacts import write_json
            from orchestration.stream_watch import land_backlog

            report = land_backlog(config.load(), settings.kafka_topic)
            write_json(current_run_dir() / "stream.json", report)
            return report

        @task
        def python_steps() -> dict[str, Any]:
            from orchestration import steps

            # The new loans' job titles join the title map; the stored titles and lambdas stay, as
            # the loans already built were built with them (as `lendflow stream` does).
            return steps.python_steps(config.load(), current_run_dir(), refit=False)

        land_topic() >> python_steps() >> dbt_task_group(dag, cosmos)
        declare_model_assets(dag, model_asset_uris(settings, manifest))
    return dag
