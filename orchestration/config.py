"""The Cosmos configuration objects, built in one place and shared by every DAG.

DAGs render from a manifest compiled ahead of time (`lendflow compile-manifest`, run by
`make`): LoadMode.DBT_MANIFEST reads a JSON file, where LoadMode.DBT_LS would start dbt on
every parse of every DAG file. dbt runs in Airflow's own interpreter (one virtualenv holds
both, with a clean `pip check`), so Cosmos invokes it in-process through dbtRunner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from lendflow.settings import COSMOS_EXECUTION_MODE_ENV, DBT_PROJECT_DIR, PROFILES_DIR, SPARK_TARGETS, Settings
from orchestration.manifest import ManifestMissing, manifest_path

PROFILE_NAME = "lendflow"
TARGETS = ("postgres", *SPARK_TARGETS)

# The three Cosmos choices come from Settings (LENDFLOW_COSMOS_*):
# - execution mode: WATCHER (default) runs one `dbt build` (the producer task) and a sensor task
#   per model and per model's tests that reports its node's result; LOCAL runs one dbt
#   invocation per task, ~5x slower here. bench/bench_orchestration.py measures both.
# - load mode: a manifest compiled ahead (the default), or `dbt ls` at parse time (only for
#   bench/bench_orchestration.py's comparison).
# - test behavior: after_each (default) gives a model's task, then a task for its tests (unit
#   tests included); build (LOCAL mode only; WATCHER refuses it) one `dbt build --select <model>`
#   task per model: half the dbt invocations, no test tasks of their own.
EXECUTION_MODE_ENV = COSMOS_EXECUTION_MODE_ENV

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "lendflow",
    # One retry absorbs a transient failure (a dropped connection) without hiding a real one.
    "retries": 1,
    "retry_delay": timedelta(seconds=10),
}


def execution_mode(settings: Settings) -> ExecutionMode:
    return ExecutionMode(settings.cosmos_execution_mode)


@dataclass(frozen=True)
class CosmosConfigs:
    project: ProjectConfig
    profile: ProfileConfig
    execution: ExecutionConfig
    render: RenderConfig
    operator_args: dict[str, Any]


def cosmos_configs(settings: Settings, target: str, *, full_refresh: bool = False) -> CosmosConfigs:
    """The four Cosmos configs (and operator arguments) for one dbt target."""
    if target not in TARGETS:
        raise ValueError(f"unknown dbt target {target!r}; expected one of {TARGETS}")
    manifest = manifest_path(settings, target)
    if not manifest.is_file():
        raise ManifestMissing(f"no dbt manifest at {manifest}: run `lendflow compile-manifest --target {target}` first")
    from orchestration.artifacts import keep_dbt_artifacts

    return CosmosConfigs(
        project=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=manifest,
            project_name=PROFILE_NAME,
            install_dbt_deps=False,  # no packages: the hub is unreachable, macros are written by hand
        ),
        # The profile reads DBT_PG_* from the task's environment (lendflow.services.airflow sets them):
        # no password travels through a DAG's arguments.
        profile=ProfileConfig(
            profile_name=PROFILE_NAME,
            target_name=target,
            profiles_yml_filepath=PROFILES_DIR / "profiles.yml",
        ),
        execution=ExecutionConfig(
            execution_mode=execution_mode(settings),
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        render=RenderConfig(
            load_method=LoadMode(settings.cosmos_load_mode),
            # A model's tests run right after it, so a broken model stops its dependents early.
            test_behavior=TestBehavior(settings.cosmos_test_behavior),
            # A test over two models (relationships) runs once both are built, as a task of its own;
            # left with either model it would query the other before it exists.
            should_detach_multiple_parents_tests=True,
            # Cosmos would derive each model's asset from OpenLineage events after every task: ~2 s a
            # task here. The DAG declares the same assets as static outlets instead (elt_dag.py).
            emit_datasets=False,
        ),
        operator_args={
            "full_refresh": full_refresh,
            # Each dbt task's run_results.json and manifest land in the run's folder.
            "callback": keep_dbt_artifacts,
        },
    )
