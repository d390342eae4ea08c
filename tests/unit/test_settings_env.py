"""The switches once read from the environment here and there, now read through Settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from lendflow import settings as config

SWITCHES = (
    "LENDFLOW_PG_BINDIR",
    "LENDFLOW_DASHBOARD_ALLOW_DEBUG",
    "LENDFLOW_COSMOS_EXECUTION_MODE",
    "LENDFLOW_COSMOS_LOAD_MODE",
    "LENDFLOW_COSMOS_TEST_BEHAVIOR",
)


def test_the_switches_have_documented_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SWITCHES:
        monkeypatch.delenv(name, raising=False)
        assert name in (config.__doc__ or ""), f"{name} is missing from the settings table"
    settings = config.load()
    assert settings.pg_bindir_override is None
    assert settings.dashboard_allow_debug is None
    assert (settings.cosmos_execution_mode, settings.cosmos_load_mode, settings.cosmos_test_behavior) == (
        "watcher",
        "dbt_manifest",
        "after_each",
    )


def test_the_switches_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LENDFLOW_PG_BINDIR", str(tmp_path))
    monkeypatch.setenv("LENDFLOW_DASHBOARD_ALLOW_DEBUG", " 1")  # kept as set: the policy refuses it
    monkeypatch.setenv("LENDFLOW_COSMOS_EXECUTION_MODE", "LOCAL")
    monkeypatch.setenv("LENDFLOW_COSMOS_LOAD_MODE", "dbt_ls")
    monkeypatch.setenv("LENDFLOW_COSMOS_TEST_BEHAVIOR", "build")
    settings = config.load()
    assert settings.pg_bindir_override == tmp_path
    assert settings.dashboard_allow_debug == " 1"
    assert (settings.cosmos_execution_mode, settings.cosmos_load_mode, settings.cosmos_test_behavior) == (
        "local",
        "dbt_ls",
        "build",
    )


def test_postgres_binaries_are_looked_for_first_where_settings_say(tmp_path: Path) -> None:
    from lendflow.services.postgres import find_bindir

    (tmp_path / "initdb").touch()
    assert find_bindir(tmp_path) == tmp_path
