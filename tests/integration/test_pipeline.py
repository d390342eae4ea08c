"""The pipeline without Airflow (`lendflow run --direct`) through the CLI a user runs: generate -> land -> dbt build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from lendflow import settings as config
from lendflow.settings import Settings

pytestmark = pytest.mark.postgres


def _lendflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [str(Path(sys.executable).parent / "lendflow"), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=600)


@pytest.fixture()
def e2e_db(postgres: Settings) -> str:
    """A database of its own, named after the test database (parallel test runs stay apart)."""
    return f"{postgres.pg_db}_e2e"


@pytest.fixture()
def e2e_env(postgres: Settings, e2e_db: str) -> dict[str, str]:
    admin_dsn = postgres.pg_dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(e2e_db)))
    # A wide terminal: rich wraps its error panel at the terminal's width, even mid-path.
    return {**os.environ, "LENDFLOW_PG_DB": e2e_db, "COLUMNS": "1000"}


def test_run_lands_and_builds_the_mart_and_a_rerun_adds_nothing(
    e2e_env: dict[str, str], e2e_db: str, tmp_path: Path
) -> None:
    generated = _lendflow("generate", "--rows", "3000", "--seed", "11", "--out", str(tmp_path), env=e2e_env)
    assert generated.returncode == 0, generated.stderr
    loans_csv = tmp_path / "loans.csv"

    for _ in range(2):
        result = _lendflow("run", "--direct", "--input", str(loans_csv), env=e2e_env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "marts.fct_loans holds 3,000 loans" in result.stderr

    dsn = config.load().pg_dsn.rsplit("/", 1)[0] + f"/{e2e_db}"
    with psycopg.connect(dsn) as conn:
        raw_rows = conn.execute("select count(*) from raw.loans").fetchone()
        mart_rows = conn.execute("select count(distinct loan_id) from marts.fct_loans").fetchone()
    assert raw_rows == (3000,)
    assert mart_rows == (3000,)


def test_run_with_a_missing_file_fails_clearly(e2e_env: dict[str, str], tmp_path: Path) -> None:
    result = _lendflow("run", "--direct", "--input", str(tmp_path / "nope.csv"), env=e2e_env)
    assert result.returncode != 0
    message = " ".join(result.stderr.replace("│", " ").split())
    assert "nope.csv' does not exist" in message
