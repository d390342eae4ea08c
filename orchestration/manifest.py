"""The compiled dbt manifest the DAGs render from, and what the DAGs read from it (pure functions).

Kept apart from orchestration.config so it imports neither Airflow nor Cosmos.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lendflow.settings import Settings


class ManifestMissing(FileNotFoundError):
    """The DAGs render from a compiled manifest; this one has not been compiled yet."""


def manifest_dir(settings: Settings, target: str) -> Path:
    """Where `lendflow compile-manifest` writes the target's manifest (apart from dbt_project/target)."""
    return settings.airflow_home / "manifests" / target


def manifest_path(settings: Settings, target: str) -> Path:
    return manifest_dir(settings, target) / "manifest.json"


def unit_tests_without_test_task(manifest: dict[str, Any]) -> list[str]:
    """Models with dbt unit tests but no data tests.

    Cosmos renders no task for unit tests; they run inside a model's test task
    (`dbt test --select <model>` selects them), which exists only when the model has data tests.
    These models need a task of their own, or their unit tests would never run.
    """
    with_data_tests = {
        parent
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "test"
        for parent in node.get("depends_on", {}).get("nodes", [])
    }
    return sorted(
        {
            model.split(".")[-1]
            for unit in manifest.get("unit_tests", {}).values()
            for model in unit.get("depends_on", {}).get("nodes", [])
            if model.startswith("model.") and model not in with_data_tests
        }
    )


def model_asset_uris(settings: Settings, manifest: dict[str, Any]) -> dict[str, str]:
    """model name -> the Airflow asset URI of the table it builds in PostgreSQL.

    postgres://<host>:<port>/<db>/<schema>/<table>: OpenLineage's naming in Airflow 3's URI form,
    the same URI Cosmos itself would emit.
    """
    from psycopg.conninfo import conninfo_to_dict  # psycopg is light; no Airflow here

    parts = conninfo_to_dict(settings.pg_dsn)
    base = f"postgres://{parts.get('host', '127.0.0.1')}:{parts.get('port', 5432)}/{parts.get('dbname')}"
    return {
        node["name"]: f"{base}/{node['schema']}/{node.get('alias') or node['name']}"
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model" and node.get("config", {}).get("materialized") != "ephemeral"
    }


def mart_asset_uris(settings: Settings, manifest: dict[str, Any]) -> list[str]:
    """The asset URIs of every model in the marts schema: what the dashboard's refresh DAG waits for."""
    marts = {n["name"] for n in manifest.get("nodes", {}).values() if n.get("schema") == "marts"}
    return sorted(uri for name, uri in model_asset_uris(settings, manifest).items() if name in marts)


def read_manifest(settings: Settings, target: str) -> dict[str, Any]:
    path = manifest_path(settings, target)
    if not path.is_file():
        raise ManifestMissing(f"no dbt manifest at {path}: run `lendflow compile-manifest --target {target}` first")
    manifest: dict[str, Any] = json.loads(path.read_text())
    return manifest


def mart_relations(manifest: dict[str, Any]) -> list[str]:
    """'schema.table' of every model the manifest builds in the marts schema.

    An ephemeral model has no relation (dbt inlines it as a CTE), so it has no rows to count.
    """
    return sorted(
        f"{node['schema']}.{node.get('alias') or node['name']}"
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model"
        and node.get("schema") == "marts"
        and node.get("config", {}).get("materialized") != "ephemeral"
    )
