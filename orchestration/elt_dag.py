"""The ELT DAG, built once here and instantiated per target by the files in orchestration/dags/.

    prepare_run -> land_batch_files -------------------\
               \\-> replay_stream -> consume_stream --> gate_raw -> python_steps -> dbt (one task per
                   model, its tests right after it) [-> dbt_unit_tests] -> gate_marts -> dbt_docs
                   -> check_dashboard

Every task reads and writes the run's folder (orchestration.artifacts); nothing passes through
XCom but small reports.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Asset, Param, TriggerRule, get_current_context, task
from cosmos import DbtTaskGroup
from cosmos.constants import PRODUCER_WATCHER_DONE_TASK_ID, PRODUCER_WATCHER_TASK_ID, ExecutionMode
from cosmos.operators.local import DbtTestLocalOperator

from lendflow import settings as config
from lendflow.settings import SPARK_TARGETS
from orchestration.artifacts import run_folder
from orchestration.config import DEFAULT_ARGS, CosmosConfigs, cosmos_configs
from orchestration.manifest import manifest_path, model_asset_uris, read_manifest, unit_tests_without_test_task

# The services a Spark target's steps need beside PostgreSQL (and Kafka): `lendflow up -s <name>`.
SPARK_SERVICES = {"spark": ["spark"], "spark_thrift": ["spark-cluster"]}

DOC = """
Land the batch files and the stream, check this run's raw batches, build every dbt model as its own
task (its tests right after it), check the marts and each batch's quarantined share, and document
the run. Artifacts of each run: `$LENDFLOW_HOME/runs/<dag_id>/<run_id>/`.
"""


def current_run_dir() -> Path:
    context = get_current_context()
    return run_folder(config.load(), context["dag"].dag_id, context["run_id"])


def _params() -> dict[str, Any]:
    return dict(get_current_context()["params"])


def _input_files(params: dict[str, Any]) -> list[Path]:
    if params.get("input_files"):
        return [Path(p) for p in params["input_files"]]
    from orchestration.pipeline import default_sample

    return [default_sample(config.load())]


def _stream_file(params: dict[str, Any], inputs: list[Path]) -> Path | None:
    if not params.get("stream"):
        return None
    if params.get("stream_file"):
        return Path(params["stream_file"])
    candidate = inputs[0].parent / "stream.csv"  # the generator writes it beside the batch sample
    return candidate if candidate.is_file() else None


def _gate(name: str, target: str, *, with_stream: bool = False) -> str:
    """A quality gate on this run's batches (steps.quality_gate, as the gate role); its failure is
    final: retrying cannot fix the data, so no retry is spent. A failed run blocks no later one."""
    from airflow.sdk.exceptions import AirflowFailException

    from orchestration import steps
    from orchestration.quality.checkpoints import QualityGateFailed

    try:
        return steps.quality_gate(
            config.load().on_target(target), current_run_dir(), name, target, with_stream=with_stream
        )
    except QualityGateFailed as failure:
        raise AirflowFailException(str(failure)) from failure


def declare_model_assets(dag: DAG, uris: dict[str, str]) -> None:
    """Each model's task outputs its table as an Airflow asset: an event when it builds it."""
    for name, uri in uris.items():
        for task_id in (f"dbt.{name}.run", f"dbt.{name}_run"):
            if task_id in dag.task_dict:
                dag.task_dict[task_id].outlets = [Asset(uri)]


def _watch_after_producer(dag: DAG, group_id: str) -> None:
    """WATCHER mode: the group's first watchers start once the producer's `dbt build` has ended.

    Cosmos leaves a task group's watchers beside the producer, to be scheduled alongside it.
    `dag.test()` (how `make run` and the tests run the DAG) runs one task at a time: a watcher run
    before the producer would wait for it forever. After it, every watcher finds its node's
    result at its first look. They run once the producer has ended, failed or not (one_done), so
    a failed build still shows which models failed, as Cosmos's own DbtDag does; a producer that
    never ran (a gate upstream failed) skips them. Under a scheduler the watchers' states appear
    when the build ends; the producer's log shows it live.
    """
    prefix = f"{group_id}."
    producer = dag.task_dict[prefix + PRODUCER_WATCHER_TASK_ID]
    # Cosmos's producer skips itself when retried (a second whole build is not what a retry of
    # one failed model should cost), and a skipped producer would skip its watchers and let the
    # run end green. No retry: a failed build fails the producer; each failed model's watcher
    # then retries that model alone (Cosmos's fallback to a LOCAL run).
    producer.retries = 0
    inside = {task_id for task_id in dag.task_dict if task_id.startswith(prefix)}
    for task_id in sorted(inside - {producer.task_id, prefix + PRODUCER_WATCHER_DONE_TASK_ID}):
        task = dag.task_dict[task_id]
        if not task.upstream_task_ids & inside:
            producer >> task
            task.trigger_rule = TriggerRule.ONE_DONE


def dbt_task_group(dag: DAG, cosmos: CosmosConfigs) -> DbtTaskGroup:
    """The dbt models as Cosmos tasks (group `dbt`) in the DAG being built; in WATCHER mode the
    group's first watchers wait for the producer (_watch_after_producer)."""
    group = DbtTaskGroup(
        group_id="dbt",
        project_config=cosmos.project,
        profile_config=cosmos.profile,
        execution_config=cosmos.execution,
        render_config=cosmos.render,
        operator_args=cosmos.operator_args,
        default_args=DEFAULT_ARGS,
    )
    if cosmos.execution.execution_mode == ExecutionMode.WATCHER:
        _watch_after_producer(dag, group.group_id)
    return group


def build_elt_dag(dag_id: str, target: str, *, full_refresh: bool = False, tags: tuple[str, ...] = ()) -> DAG:
    """The pipeline as a DAG on one dbt target; on a Spark target every Spark step runs where
    the target does (local mode, or the cluster behind spark_thrift: Settings.on_target)."""
    settings = config.load()

    def _settings() -> config.Settings:
        return config.load().on_target(target)

    cosmos = cosmos_configs(settings, target, full_refresh=full_refresh)
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        max_active_runs=1,  # runs share the warehouse; two at once would race on the same tables
        default_args=DEFAULT_ARGS,
        tags=["lendflow", target, *tags],
        doc_md=DOC,
        params={
            "input_files": Param([], type="array", description="Batch files to land [default: the sample]."),
            "stream": Param(
                True,
                type="boolean",
                description="Replay the stream sample (once per warehouse on postgres) and consume the topic.",
            ),
            "stream_file": Param("", type="string", description="Stream sample [default: beside the input]."),
            "topic": Param(settings.kafka_topic, type="string"),
            "stream_idle_timeout": Param(60, type="number", description="Give up on EOF after this many idle s."),
        },
    ) as dag:

        @task
        def prepare_run() -> dict[str, Any]:
            from orchestration import steps

            context = get_current_context()
            params = _params()
            inputs = _input_files(params)
            streaming = _stream_file(params, inputs) is not None
            return steps.prepare_run(
                config.load(),
                current_run_dir(),
                dag_id=dag_id,
                run_id=context["run_id"],
                target=target,
                inputs=inputs,
                manifest=manifest_path(config.load(), target),
                services=["postgres", *(["kafka"] if streaming else []), *SPARK_SERVICES.get(target, [])],
            )

        @task
        def land_batch_files() -> list[dict[str, Any]]:
            from orchestration import steps

            inputs = _input_files(_params())
            if target in SPARK_TARGETS:
                return steps.spark_stage_batch_files(_settings(), current_run_dir(), inputs)
            return steps.land_batch_files(config.load(), current_run_dir(), inputs)

        @task
        def replay_stream() -> dict[str, Any] | None:
            from orchestration import steps

            params = _params()
            stream_file = _stream_file(params, _input_files(params))
            if stream_file is None:
                return None
            # Spark staging keeps its own place in the topic (a checkpoint), so the spark DAG replays every run.
            return steps.replay_stream(
                config.load(), current_run_dir(), stream_file, params["topic"], once=target == "postgres"
            )

        @task
        def consume_stream() -> dict[str, Any] | None:
            from orchestration import steps

            params = _params()
            if _stream_file(params, _input_files(params)) is None:
                return None
            if target in SPARK_TARGETS:
                return steps.spark_stage_stream(_settings(), current_run_dir(), params["topic"])
            # The warehouse's own consumer group, shared with `lendflow consume` (default_group).
            return steps.consume_stream(
                config.load(), current_run_dir(), params["topic"], params["stream_idle_timeout"]
            )

        @task
        def gate_raw() -> str:
            params = _params()
            return _gate("raw", target, with_stream=_stream_file(params, _input_files(params)) is not None)

        @task
        def python_steps() -> dict[str, Any]:
            from orchestration import steps

            if target in SPARK_TARGETS:
                return steps.spark_python_steps(_settings(), current_run_dir())
            # refit only where dbt rebuilds every loan: an incremental build keeps the loans it
            # built with the stored titles and lambdas, so those must stay as they are
            return steps.python_steps(config.load(), current_run_dir(), refit=full_refresh)

        dbt = dbt_task_group(dag, cosmos)
        watching = cosmos.execution.execution_mode == ExecutionMode.WATCHER

        manifest = read_manifest(settings, target)
        if target == "postgres":
            declare_model_assets(dag, model_asset_uris(settings, manifest))

        # Unit tests of models with no data tests: Cosmos gives them no task in LOCAL mode (see
        # config). In WATCHER mode the producer's `dbt build` runs every unit test itself.
        orphans = [] if watching else unit_tests_without_test_task(manifest)
        unit_tests = (
            DbtTestLocalOperator(
                task_id="dbt_unit_tests",
                profile_config=cosmos.profile,
                project_dir=str(cosmos.project.dbt_project_path),
                select=[f"{model},test_type:unit" for model in orphans],
                install_deps=False,
                callback=cosmos.operator_args["callback"],
            )
            if orphans
            else None
        )

        @task
        def gate_marts() -> str:
            return _gate("marts", target)

        @task
        def dbt_docs() -> str:
            from orchestration import steps

            return str(steps.dbt_docs(config.load(), current_run_dir(), target))

        @task
        def check_dashboard() -> dict[str, Any]:
            from orchestration import steps

            return steps.check_dashboard(config.load(), current_run_dir())

        started = prepare_run()
        landed = land_batch_files()
        replayed = replay_stream()
        consumed = consume_stream()
        # The replay too waits for prepare_run: it needs the services, the database and the sample.
        started >> [landed, replayed]
        replayed >> consumed
        raw_checked = gate_raw()
        [landed, consumed] >> raw_checked
        built = raw_checked >> python_steps() >> dbt
        if unit_tests is not None:
            built = built >> unit_tests
        checked = built >> gate_marts() >> dbt_docs()
        if target == "postgres":  # the dashboard reads the PostgreSQL marts
            checked >> check_dashboard()
    return dag
