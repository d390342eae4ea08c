"""Fixtures of the dashboard tests: a built warehouse, the served dashboard, real Chromium.

The warehouse is a database of its own (`<test db>_dashboard`), so the numbers the tests
check are not moved by other tests landing into the shared test database.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from lendflow.services.base import free_port
from lendflow.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def dashboard_settings(postgres: Settings, small_sample: Path) -> Settings:
    """A warehouse built from the small sample: landed, dbt models and seeds built, roles granted."""
    from ingestion.land import land_file
    from lendflow.dbt import run_dbt
    from lendflow.services import roles
    from python_steps import run as python_steps

    settings = dataclasses.replace(postgres, pg_db=f"{postgres.pg_db}_dashboard")
    admin_dsn = postgres.pg_dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(settings.pg_db)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(settings.pg_db)))
    roles.bootstrap(settings)
    land_file(small_sample / "loans.csv", settings, progress=False)
    # A second, dirty file: the data-quality page must have rejections and quarantine to show.
    land_file(
        write_dirty_file(small_sample / "loans.csv", small_sample.parent / "dirty-loans.csv"), settings, progress=False
    )
    # As orchestration.pipeline.run does: the Python steps write tables dbt reads as sources.
    python_steps.run(settings)
    # Models and seeds only: the warehouse's own tests belong to the dbt suite, not to these.
    run_dbt(["build", "--resource-type", "model", "--resource-type", "seed", "--quiet"], settings)
    return settings


DIRTY_REASONS = ("non_numeric_loan_amount", "grade_out_of_range")


def write_dirty_file(clean_csv: Path, out: Path) -> Path:
    """Three loans of `clean_csv` spoiled: a line cut short (rejected when landing), and new
    loans with a non-numeric amount and an impossible grade (quarantined by validation)."""
    with clean_csv.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = [row for _, row in zip(range(3), reader, strict=False)]
    rows[1].update({"Loan Id": "990000001", "Loan Amount": "n/a"})
    rows[2].update({"Loan Id": "990000002", "Grade": "99"})
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        handle.write(",".join(list(rows[0].values())[:5]) + "\n")
        writer.writerows(rows[1:])
    return out


def owner_query(settings: Settings, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """A query as the warehouse's owner: what the tests compare the dashboard against."""
    with psycopg.connect(settings.pg_dsn) as conn:
        return conn.execute(query, params).fetchall()


def _read_lines(stream: object, lines: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        lines.put(line)


@pytest.fixture(scope="session")
def dashboard_url(dashboard_settings: Settings) -> Iterator[str]:
    """`lendflow dashboard` (gunicorn, the reader role) serving the test warehouse."""
    port = free_port()
    env = {**os.environ, "LENDFLOW_PG_DB": dashboard_settings.pg_db, "LENDFLOW_HOME": str(dashboard_settings.home)}
    env.pop("LENDFLOW_DASHBOARD_ALLOW_DEBUG", None)
    cmd = [str(Path(sys.executable).parent / "lendflow"), "dashboard", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    address, seen = None, []
    deadline = time.monotonic() + 60
    while address is None and time.monotonic() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if line.startswith("dashboard serving at "):
            address = line.split(" at ", 1)[1].strip()
    if address is None:
        process.kill()
        pytest.fail("`lendflow dashboard` did not print its address:\n" + "".join(seen))
    try:
        yield address.rstrip("/")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system` (apt-get install chromium) installs it")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
