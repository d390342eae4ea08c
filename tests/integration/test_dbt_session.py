"""The in-process dbt session parses the real project once, and again only after it changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
