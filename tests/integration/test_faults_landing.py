"""kill -9 of `lendflow land` in the middle of a large file: nothing half-landed, and the rerun
lands the file exactly once.

The landing is a subprocess of the real CLI against the shared PostgreSQL, in the test's own
database; it is killed (SIGKILL, no chance to clean up) while its COPY is under way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from ingestion.land import file_sha256
from lendflow.settings import Settings
from sample.files import write_sample

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROWS = 300_000


def _land(settings: Settings, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "LENDFLOW_PG_DB": settings.pg_db}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "land", str(path), "--role", "owner"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _rows_copied(settings: Settings) -> int:
    """Rows the COPY into raw.loans of this database has taken so far (0 when none is running)."""
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        row = conn.execute(
            "select coalesce(max(tuples_processed), 0) from pg_stat_progress_copy"
            " where datname = current_database() and relid = 'raw.loans'::regclass"
        ).fetchone()
    return int(row[0]) if row else 0


def _counts(settings: Settings, sha: str) -> tuple[int, int, int, int]:
    """Rows of the file in raw.loans, distinct row numbers, landed_files rows, rejected rows."""
    with psycopg.connect(settings.pg_dsn) as conn:
        loans = conn.execute(
            "select count(*), count(distinct _row_number) from raw.loans where _file_sha256 = %s", (sha,)
        ).fetchone()
        files = conn.execute("select count(*) from raw.landed_files where file_sha256 = %s", (sha,)).fetchone()
        rejects = conn.execute("select count(*) from raw.rejected_rows where file_sha256 = %s", (sha,)).fetchone()
    assert loans and files and rejects
    return int(loans[0]), int(loans[1]), int(files[0]), int(rejects[0])


def test_kill_9_in_the_middle_of_a_landing_then_rerun_lands_it_once(postgres: Settings, tmp_path: Path) -> None:
    from lendflow.raw_tables import ensure_raw_tables_exist

    ensure_raw_tables_exist(postgres)
    files = write_sample(tmp_path / "data", rows=ROWS, seed=9, stream_rows=0, formats=("csv",), progress=False)
    path = files.loans_csv
    assert path is not None
    sha = file_sha256(path)

    proc = _land(postgres, path)
    deadline = time.monotonic() + 120
    while _rows_copied(postgres) < ROWS // 4:  # well into the COPY, not at its first block
        assert proc.poll() is None, proc.communicate()[0]  # it must still be copying when it is killed
        assert time.monotonic() < deadline, "the COPY never got under way"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _counts(postgres, sha) == (0, 0, 0, 0)  # nothing of the killed landing is visible

    # The server may still hold the dead client's transaction (and its lock) for a moment: the
    # rerun waits for it, then lands the whole file.
    rerun = _land(postgres, path)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    assert f"landed {ROWS:,}" in " ".join(output.split())
    assert _counts(postgres, sha) == (ROWS, ROWS, 1, 0)

    again = _land(postgres, path)
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0 and "already landed" in output, output
    assert _counts(postgres, sha) == (ROWS, ROWS, 1, 0)
