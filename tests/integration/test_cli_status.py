"""`lendflow status` and `lendflow up` show where PostgreSQL is, never its owner's password;
`lendflow status --dsn` prints the whole DSN, since that is what it is for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from lendflow.redact import masked_dsn
from lendflow.settings import Settings

pytestmark = pytest.mark.postgres

LENDFLOW = str(Path(sys.executable).parent / "lendflow")


def lendflow(settings: Settings, *args: str) -> str:
    env = {**os.environ, "LENDFLOW_HOME": str(settings.home), "LENDFLOW_PG_DB": settings.pg_db}
    result = subprocess.run([LENDFLOW, *args], env=env, capture_output=True, text=True, timeout=120, check=True)
    return result.stdout + result.stderr


@pytest.mark.parametrize("command", [["status"], ["up", "--service", "postgres"]])
def test_status_and_up_show_the_dsn_without_its_password(postgres: Settings, command: list[str]) -> None:
    password = str(conninfo_to_dict(postgres.pg_dsn)["password"])
    shown = lendflow(postgres, *command)
    assert masked_dsn(postgres.pg_dsn) in shown
    assert password not in shown
    assert "running" in shown


def test_status_dsn_prints_the_whole_dsn(postgres: Settings) -> None:
    assert lendflow(postgres, "status", "--dsn").strip() == postgres.pg_dsn
