"""PostgreSQL stops in the middle of a batch landing: a clear failure, nothing half-landed, and
the rerun lands the file exactly once.

The server stopped here is one of this test's own (its own state folder and port), never the
one the rest of the suite shares.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from lendflow import settings as settings_mod
from lendflow.generate import write_sample
from lendflow.services import postgres as pg
from lendflow.settings import Settings
from tests.conftest import OWN_PG_PORT

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def own_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    if not settings_mod.load().pg_is_local:
        pytest.skip("LENDFLOW_PG_DSN points at an external server")
    with monkeypatch.context() as env:
        env.setenv("LENDFLOW_HOME", str(tmp_path / "home"))
        env.setenv("LENDFLOW_PG_PORT", str(OWN_PG_PORT))
        own = settings_mod.load()
    pg.start(own)
    try:
        yield own
    finally:
        pg.stop(own)
        data = pg.data_dir(own)
        shutil.rmtree(data.parent, ignore_errors=True)
        if data.parent.parent.name.startswith("lendflow-"):  # the /var/tmp fallback of a root run
            shutil.rmtree(data.parent.parent, ignore_errors=True)


def _land(settings: Settings, path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "LENDFLOW_HOME": str(settings.home),
        "LENDFLOW_PG_PORT": str(settings.pg_port),
        "LENDFLOW_PG_DB": settings.pg_db,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "lendflow.cli", "land", str(path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _copy_in_progress(settings: Settings) -> bool:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        row = conn.execute("select coalesce(max(tuples_processed), 0) from pg_stat_progress_copy").fetchone()
    return row is not None and row[0] > 0


def test_postgres_stops_during_a_landing(own_postgres: Settings, tmp_path: Path) -> None:
    path = write_sample(tmp_path / "data", rows=300_000, seed=5, stream_rows=0, formats=("csv",), progress=False)
    csv_file = path.loans_csv
    assert csv_file is not None

    proc = _land(own_postgres, csv_file)
    deadline = time.monotonic() + 120
    while not _copy_in_progress(own_postgres):
        assert proc.poll() is None, proc.communicate()[0]  # it must still be copying when we pull the plug
        assert time.monotonic() < deadline
        time.sleep(0.02)
    pg.stop(own_postgres)
    output, _ = proc.communicate(timeout=60)
    print(output)
    output = " ".join(output.split())  # the console wraps long lines
    assert proc.returncode == 1, output
    assert "PostgreSQL" in output and "failed during the landing" in output and "rerun" in output
    assert "Traceback" not in output

    pg.start(own_postgres)
    with psycopg.connect(own_postgres.pg_dsn) as conn:
        assert conn.execute("select count(*) from raw.loans").fetchone() == (0,)
        assert conn.execute("select count(*) from raw.landed_files").fetchone() == (0,)

    rerun = _land(own_postgres, csv_file)
    output, _ = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, output
    assert "landed 300,000" in output
    again = _land(own_postgres, csv_file)
    output, _ = again.communicate(timeout=60)
    assert again.returncode == 0 and "already landed" in output, output
    with psycopg.connect(own_postgres.pg_dsn) as conn:
        assert conn.execute("select count(*), count(distinct _row_number) from raw.loans").fetchone() == (
            300_000,
            300_000,
        )
