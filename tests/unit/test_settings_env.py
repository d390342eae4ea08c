"""The switches once read from the environment here and there, now read through Settings."""

from __future__ import annotations

import dataclasses
import os
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


def test_environment_gives_back_the_settings_it_was_made_from(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A child process handed environment(settings) loads exactly settings, whatever was set here."""
    changed = dataclasses.replace(
        config.load(),
        home=tmp_path / "home",
        pg_dsn_override="host=db.example port=5433 dbname=loans user=etl",
        pg_port=25433,
        pg_db="loans",
        kafka_bootstrap_override="broker.example:9092",
        kafka_port=29093,
        kafka_topic="loans-eu",
        kafka_partitions=6,
        dashboard_port=8051,
        airflow_port=58090,
        role_dsn_overrides={"reader": "host=db.example dbname=loans user=reader"},
        spark_home_override=tmp_path / "spark",
        max_quarantined_share=0.125,
        reader_statement_timeout="5s",
        reader_connection_limit=7,
        pg_bindir_override=tmp_path / "pg" / "bin",
        dashboard_allow_debug="1",
        cosmos_execution_mode="local",
        cosmos_load_mode="dbt_ls",
        cosmos_test_behavior="build",
        stream_poll_interval=0.25,
        stream_periodic_every=5,
        stream_max_batch=5000,
        spark_master_port=21077,
        spark_master_ui_port=21080,
        spark_worker_cores=4,
        spark_worker_memory="6g",
        spark_thrift_host="thrift.example",
        spark_thrift_port=10001,
        spark_target="spark_thrift",
        spark_master_override="spark://master.example:7077",
    )

    def clear() -> None:
        for name in [n for n in os.environ if n.startswith(("LENDFLOW_", "DBT_SPARK_"))]:
            monkeypatch.delenv(name)

    clear()
    defaults = config.load()
    unchanged = [f.name for f in dataclasses.fields(changed) if getattr(changed, f.name) == getattr(defaults, f.name)]
    assert unchanged == [], "change every setting here, so one environment() forgets is caught"
    for expected in (changed, defaults):
        clear()
        for name, value in config.environment(expected).items():
            monkeypatch.setenv(name, value)
        assert config.load() == expected


def test_an_unknown_spark_target_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDFLOW_SPARK_TARGET", "spark_cluster")
    with pytest.raises(ValueError, match="LENDFLOW_SPARK_TARGET must be one of spark, spark_thrift"):
        config.load()


def test_a_child_environment_drops_what_the_parent_set_for_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDFLOW_PG_DSN", "host=elsewhere dbname=other")
    monkeypatch.setenv("DBT_SPARK_USER", "analyst")  # the profile's own: passes through
    monkeypatch.setenv("LENDFLOW_SPARK_TARGET", "spark_thrift")
    child = config.child_environment(dataclasses.replace(config.load(), pg_dsn_override=None, spark_target="spark"))
    assert "LENDFLOW_PG_DSN" not in child
    assert (child["DBT_SPARK_USER"], child["LENDFLOW_SPARK_TARGET"]) == ("analyst", "spark")
