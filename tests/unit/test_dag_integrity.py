"""Every DAG file imports cleanly, renders from the compiled manifest, and carries tags and retries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lendflow.settings import Settings
from orchestration.manifest import mart_asset_uris, mart_relations, model_asset_uris, unit_tests_without_test_task

EXPECTED_DAGS = {"lending_elt", "lending_elt_spark", "lending_full_refresh", "dashboard_cache_refresh"}


@pytest.fixture(scope="module")
def dagbag(settings: Settings, dbt_manifest: Path) -> Any:
    from lendflow.services.airflow import ensure_db
    from orchestration.runner import compile_manifest, load_dagbag

    ensure_db(settings)  # reading a DAG's state needs the metadata tables, even alone
    compile_manifest(settings, "spark")  # lending_elt_spark renders from its own manifest
    return load_dagbag(settings)


@pytest.fixture(scope="module")
def manifest(dbt_manifest: Path) -> dict[str, Any]:
    return json.loads(dbt_manifest.read_text())


def test_dag_files_import_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) >= EXPECTED_DAGS


def test_every_dag_has_tags_and_every_task_retries(dagbag: Any) -> None:
    for dag_id in dagbag.dag_ids:
        dag = dagbag.get_dag(dag_id)
        assert dag.tags, f"{dag_id} has no tags"
        no_retry = [task.task_id for task in dag.tasks if not task.retries]
        # Cosmos's WATCHER producer skips itself on a retry; its watchers retry model by model.
        assert no_retry in ([], ["dbt.dbt_producer_watcher"]), f"{dag_id}: tasks without retries: {no_retry}"


def test_lending_elt_renders_every_model_and_its_tests_as_tasks(dagbag: Any, manifest: dict[str, Any]) -> None:
    task_ids = set(dagbag.get_dag("lending_elt").task_ids)
    tested = {p for n in manifest["nodes"].values() if n["resource_type"] == "test" for p in n["depends_on"]["nodes"]}
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "model" or node["config"].get("materialized") == "ephemeral":
            continue
        name = node["name"]
        if unique_id in tested:
            assert {f"dbt.{name}.run", f"dbt.{name}.test"} <= task_ids, name
        else:
            assert f"dbt.{name}_run" in task_ids, name


@pytest.fixture(scope="module")
def local_mode_dag(settings: Settings, dbt_manifest: Path) -> Any:
    """lending_elt rendered in Cosmos's LOCAL mode (one dbt invocation per task)."""
    from orchestration.config import EXECUTION_MODE_ENV
    from orchestration.runner import load_dagbag

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(EXECUTION_MODE_ENV, "local")
        return load_dagbag(settings).get_dag("lending_elt")


def test_every_unit_test_runs_in_local_mode(local_mode_dag: Any, manifest: dict[str, Any]) -> None:
    """Cosmos renders no unit tests: a model's test task selects them, or dbt_unit_tests does."""
    task_ids = set(local_mode_dag.task_ids)
    assert "dbt.dbt_producer_watcher" not in task_ids
    orphans = unit_tests_without_test_task(manifest)
    assert orphans, "the project has models with unit tests but no data tests; this test expects some"
    for unit in manifest.get("unit_tests", {}).values():
        model = unit["depends_on"]["nodes"][0].split(".")[-1]
        assert f"dbt.{model}.test" in task_ids or (model in orphans and "dbt_unit_tests" in task_ids), model


def test_watcher_mode_builds_everything_in_one_producer_then_watches(dagbag: Any) -> None:
    """The default: one `dbt build` of the whole project (unit tests included), then the watchers.

    dag.test() runs one task at a time, so the producer must be the dbt group's only root and
    the first watchers must wait for it to end, succeeded or failed (one_done).
    """
    dag = dagbag.get_dag("lending_elt")
    producer = dag.get_task("dbt.dbt_producer_watcher")
    assert type(producer).__name__ == "DbtProducerWatcherOperator"
    assert not producer.select and not producer.exclude  # every node: models, seeds, tests, unit tests
    assert "--resource-type" not in (producer.dbt_cmd_flags or [])
    assert "dbt_unit_tests" not in dag.task_ids  # the producer's build runs them
    group = {task_id for task_id in dag.task_ids if task_id.startswith("dbt.")}
    roots = [task_id for task_id in group if not dag.get_task(task_id).upstream_task_ids & group]
    assert roots == ["dbt.dbt_producer_watcher"]
    first_watchers = producer.downstream_task_ids - {"dbt.dbt_producer_watcher_done"}
    assert "dbt.stg_raw__loans_run" in first_watchers
    for task_id in first_watchers:
        assert dag.get_task(task_id).trigger_rule == "one_done", task_id
    # not sensors: the producer's end marker, and an ephemeral model (no table: Cosmos renders it empty)
    empty = {task_id for task_id in group if type(dag.get_task(task_id)).__name__ == "EmptyOperator"}
    assert empty == {"dbt.dbt_producer_watcher_done", "dbt.loan_versions_run"}
    sensors = [dag.get_task(t) for t in group - empty - {"dbt.dbt_producer_watcher"}]
    assert sensors and all(hasattr(sensor, "poke") for sensor in sensors)


def test_every_step_waits_for_prepare_run(dagbag: Any) -> None:
    """prepare_run brings up the services and the database and generates the sample: nothing may start before it."""
    for dag_id in ("lending_elt", "lending_elt_spark", "lending_full_refresh"):
        dag = dagbag.get_dag(dag_id)
        assert dag.get_task("prepare_run").upstream_task_ids == set(), dag_id
        assert [task.task_id for task in dag.roots] == ["prepare_run"], dag_id
        assert dag.get_task("consume_stream").upstream_task_ids == {"replay_stream"}, dag_id


def test_the_gates_run_around_the_dbt_group(dagbag: Any) -> None:
    dag = dagbag.get_dag("lending_elt")
    assert "python_steps" in dag.get_task("gate_raw").downstream_task_ids
    gate_marts_upstream = dag.get_task("gate_marts").upstream_task_ids
    assert gate_marts_upstream and all(t.startswith("dbt") for t in gate_marts_upstream)
    assert dag.get_task("dbt_docs").upstream_task_ids == {"gate_marts"}


def test_the_cache_refresh_is_scheduled_on_every_mart(
    dagbag: Any, manifest: dict[str, Any], settings: Settings
) -> None:
    dag = dagbag.get_dag("dashboard_cache_refresh")
    uris = mart_asset_uris(settings, manifest)
    assert any(uri.endswith("/marts/fct_loans") for uri in uris)
    scheduled = {asset.uri for asset in dag.timetable.asset_condition.objects}
    assert scheduled == set(uris)


def test_unit_tests_without_data_tests_are_found() -> None:
    manifest = {
        "nodes": {
            "model.p.a": {"resource_type": "model"},
            "model.p.b": {"resource_type": "model"},
            "test.p.not_null_a": {"resource_type": "test", "depends_on": {"nodes": ["model.p.a"]}},
        },
        "unit_tests": {
            "unit_test.p.a.t1": {"depends_on": {"nodes": ["model.p.a"]}},
            "unit_test.p.b.t2": {"depends_on": {"nodes": ["model.p.b"]}},
        },
    }
    assert unit_tests_without_test_task(manifest) == ["b"]


def test_every_model_task_outputs_its_table_as_an_asset(
    dagbag: Any, manifest: dict[str, Any], settings: Settings
) -> None:
    dag = dagbag.get_dag("lending_elt")
    for name, uri in model_asset_uris(settings, manifest).items():
        task = dag.task_dict.get(f"dbt.{name}.run") or dag.task_dict[f"dbt.{name}_run"]
        assert [asset.uri for asset in task.outlets] == [uri], name


def test_the_mart_relations_are_the_marts_with_a_relation(manifest: dict[str, Any]) -> None:
    # The run's summary counts the rows of each: an ephemeral model (inlined by dbt) has no
    # relation, and counting it failed every successful run.
    relations = mart_relations(manifest)
    assert "marts.fct_loans" in relations
    ephemeral = [
        f"{node['schema']}.{node['name']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "ephemeral"
    ]
    assert "marts.loan_versions" in ephemeral
    assert not set(ephemeral) & set(relations)
