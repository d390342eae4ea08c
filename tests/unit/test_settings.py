"""Configuration from the environment: defaults, overrides, no secret in the repository."""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import pytest

from lendflow import settings as config
from lendflow.db import masked_dsn
from lendflow.dbt import dbt_env, dbt_target_path


def test_defaults_keep_state_under_one_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LENDFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("LENDFLOW_PG_DSN", raising=False)
    monkeypatch.delenv("LENDFLOW_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("LENDFLOW_SPARK_HOME", raising=False)
    settings = config.load()
    assert settings.pg_is_local and settings.kafka_is_local
    for folder in (settings.pg_home, settings.kafka_home, settings.spark_warehouse_dir, settings.airflow_home):
        assert folder.is_relative_to(tmp_path)
    assert settings.kafka_bootstrap == "127.0.0.1:59092"
    assert settings.pg_dsn.startswith("postgresql://lendflow:")
    assert settings.pg_dsn.endswith("@127.0.0.1:55432/" + settings.pg_db)


def test_the_local_password_is_generated_once_and_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LENDFLOW_HOME", str(tmp_path))
    first = config.load().pg_password
    assert len(first) >= 24
    assert config.load().pg_password == first
    assert (tmp_path / "secrets" / "pg_password").stat().st_mode & 0o077 == 0


def _first_run_secret(home: str, start: Barrier) -> str:
    """What one first run of lendflow reads as a fresh secret, once all runs are lined up."""
    settings = dataclasses.replace(config.load(), home=Path(home))
    start.wait()
    return settings.local_secret("pg_password")


@pytest.mark.parametrize("runs", ["threads", "processes"])
def test_first_runs_at_once_agree_on_one_generated_secret(tmp_path: Path, runs: str) -> None:
    # Many first runs ask for the same new secret in the same instant: one value wins, every
    # run reads it, and no temporary file is left beside it.
    callers = 24
    attempts = 5
    for attempt in range(attempts):
        home = tmp_path / str(attempt)
        if runs == "threads":
            start: Barrier = threading.Barrier(callers)
            with ThreadPoolExecutor(callers) as pool:
                values = set(pool.map(_first_run_secret, [str(home)] * callers, [start] * callers))
        else:
            with multiprocessing.Manager() as manager, ProcessPoolExecutor(callers) as pool:
                start = manager.Barrier(callers)
                values = set(pool.map(_first_run_secret, [str(home)] * callers, [start] * callers))
        assert values == {(home / "secrets" / "pg_password").read_text()}, attempt
        assert [item.name for item in (home / "secrets").iterdir()] == ["pg_password"]
        assert (home / "secrets" / "pg_password").stat().st_mode & 0o077 == 0


def test_external_services_are_used_as_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDFLOW_PG_DSN", "postgresql://u:p%40ss@db.example:5433/wh")
    monkeypatch.setenv("LENDFLOW_KAFKA_BOOTSTRAP", "broker:9092")
    settings = config.load()
    assert not settings.pg_is_local and not settings.kafka_is_local
    assert settings.kafka_bootstrap == "broker:9092"
    env = dbt_env(settings)
    assert (env["DBT_PG_HOST"], env["DBT_PG_PORT"], env["DBT_PG_USER"], env["DBT_PG_DBNAME"]) == (
        "db.example",
        "5433",
        "u",
        "wh",
    )
    assert env["DBT_PG_PASSWORD"] == "p@ss"
    assert masked_dsn(settings.pg_dsn) == "postgresql://u:***@db.example:5433/wh"


def test_each_target_and_warehouse_keeps_dbt_artifacts_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # dbt parses the whole project again when the connection differs from its saved parse's.
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    folders = []
    for dsn in ("postgresql://u:p@db.example:5433/wh", "postgresql://u:p@db.example:5433/wh_test"):
        monkeypatch.setenv("LENDFLOW_PG_DSN", dsn)
        settings = config.load()
        folders += [dbt_target_path(settings, target) for target in ("postgres", "spark", "spark_thrift")]
    assert [f.name for f in folders[:3]] == ["postgres-wh", "spark-local", "spark_thrift-127.0.0.1-10000"]
    assert folders[3].name == "postgres-wh_test"
    assert len(set(folders)) == 4  # one Spark folder per Spark target, whatever the PostgreSQL database
    assert {f.parent for f in folders} == {config.DBT_PROJECT_DIR / "target"}

    monkeypatch.setenv("DBT_TARGET_PATH", "/elsewhere/target")  # dbt's own variable wins
    assert dbt_target_path(config.load()) == Path("/elsewhere/target")


def test_the_spark_thrift_target_has_its_driver(tmp_path: Path) -> None:
    # A cluster's Thrift server (docker-compose's spark-thrift) is not here, but dbt must get as
    # far as dialing it: without PyHive it stops before, saying the method needs dependencies.
    import secrets
    import socket
    import subprocess

    from lendflow.dbt import dbt_executable
    from lendflow.settings import DBT_PROJECT_DIR, PROFILES_DIR

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "PATH": "/usr/bin:/bin",
        "DBT_PROFILES_DIR": str(PROFILES_DIR),
        "DBT_PG_PASSWORD": secrets.token_urlsafe(8),  # required by the profile, never used here
        "DBT_SPARK_PORT": str(port),
        "DBT_SPARK_CONNECT_RETRIES": "0",
        # The session settings the answers depend on, as `lendflow dbt` passes them.
        "DBT_SPARK_THRIFT_CONF": dbt_env(config.load())["DBT_SPARK_THRIFT_CONF"],
        "DBT_LOG_PATH": str(tmp_path),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    result = subprocess.run(
        [dbt_executable(), "debug", "--target", "spark_thrift"],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"Could not connect to any of [('127.0.0.1', {port})]" in output, output[-2000:]
