"""The in-process dbt session parses the real project once, and again only after it changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lendflow.dbt import dbt_env
from lendflow.dbt_session import DbtSession
from lendflow.settings import DBT_PROJECT_DIR, Settings

LIST_ONE_MODEL = ("ls", "--select", "fct_loans", "--resource-type", "model")


@pytest.mark.slow
def test_the_manifest_is_reused_until_a_project_file_changes(settings: Settings, tmp_path: Path) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    session = DbtSession(settings, target_path=tmp_path / "target", project_dir=project)

    first, second = session.invoke(LIST_ONE_MODEL), session.invoke(LIST_ONE_MODEL)
    assert first.success and second.success, first.summary() + second.summary()
    assert (first.parsed, second.parsed, session.parses) == (True, False, 1)

    model = project / "models" / "marts" / "loans" / "fct_loans.sql"
    model.write_text(model.read_text() + "\n-- changed\n")
    third = session.invoke(LIST_ONE_MODEL)
    assert third.success, third.summary()
    assert (third.parsed, session.parses) == (True, 2)
    assert session.invoke(LIST_ONE_MODEL).parsed is False


@pytest.mark.slow
def test_a_project_that_does_not_parse_fails_the_invocation_and_is_parsed_again(
    settings: Settings, tmp_path: Path
) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    session = DbtSession(settings, target_path=tmp_path / "target", project_dir=project)
    broken = project / "models" / "marts" / "loans" / "broken.sql"
    broken.write_text("select {{ ref('no_such_model') }}")
    failed = session.invoke(LIST_ONE_MODEL)
    assert not failed.success and "no_such_model" in failed.error, failed.summary()

    broken.unlink()
    fixed = session.invoke(LIST_ONE_MODEL)
    assert fixed.success and fixed.parsed, fixed.summary()


def _listed(settings: Settings, tmp_path: Path, selector: str) -> dict[str, dict[str, object]]:
    """unique_id -> its resource type and config, of what a selector selects."""
    listed = subprocess.run(
        [sys.executable, "-m", "cli", "dbt", "ls", "--selector", selector, "--output", "json",
         "--output-keys", "unique_id resource_type config", "--quiet", "--target-path", str(tmp_path / selector)],
        capture_output=True, text=True, check=False, env={**os.environ, **dbt_env(settings)},
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    nodes = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
    return {node["unique_id"]: node for node in nodes}


@pytest.mark.slow
def test_the_periodic_lane_of_an_unchanged_project_leaves_out_only_views_and_unit_tests(
    settings: Settings, tmp_path: Path
) -> None:
    whole = _listed(settings, tmp_path, "stream_periodic")
    data = _listed(settings, tmp_path, "stream_periodic_data")
    left_out = {uid: node for uid, node in whole.items() if uid not in data}
    assert set(data) <= set(whole)
    assert left_out and all(
        node["resource_type"] == "unit_test" or node["config"]["materialized"] == "view"  # type: ignore[index]
        for node in left_out.values()
    ), sorted(left_out)
    assert {node["resource_type"] for node in left_out.values()} == {"unit_test", "model"}
    # every data test of the project still runs on the data lane
    assert sum(node["resource_type"] == "test" for node in data.values()) == sum(
        node["resource_type"] == "test" for node in whole.values()
    )
