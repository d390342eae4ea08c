"""Every DAG file imports cleanly, renders from the compiled manifest, and carries tags and retries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lendflow.settings import Settings
from orchestration.manifest import mart_asset_uris, model_asset_uris, unit_tests_without_test_task

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
        assert no_retry == [], f"{dag_id}: tasks without retries: {no_retry}"


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


def test_every_unit_test_has_a_task_that_runs_it(dagbag: Any, manifest: dict[str, Any]) -> None:
    """Cosmos renders no unit tests: a model's test task selects them, or dbt_unit_tests does."""
    task_ids = set(dagbag.get_dag("lending_elt").task_ids)
    orphans = unit_tests_without_test_task(manifest)
    for unit in manifest.get("unit_tests", {}).values():
        model = unit["depends_on"]["nodes"][0].split(".")[-1]
        assert f"dbt.{model}.test" in task_ids or (model in orphans and "dbt_unit_tests" in task_ids), model


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
