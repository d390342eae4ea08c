"""The loan history snapshot on PostgreSQL: a loan that changes over three builds has three
versions whose validity ranges follow each other, and the snapshot's own tests catch a history
that does not match fct_loans."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from ingestion.land import land_file
from lendflow.dbt import DbtError, run_dbt
from lendflow.raw_tables import ensure_raw_tables_exist
from lendflow.settings import Settings
from python_steps import run as python_steps
from tests.conftest import only_as
from tests.integration.test_warehouse import _insert_events

pytestmark = pytest.mark.postgres

# The history and all it is built from; the dashboard and the answers are not needed here.
BUILD = ["build", "--select", "+loan_history", "--indirect-selection", "cautious"]
# Every row, whatever the latest build wrote (macros/tests/latest_build.sql).
CHECK = ["test", "--select", "loan_history", "--vars", "{test_all_rows: true}"]
VERSIONS = "select loan_status, loan_amount, dbt_valid_from, dbt_valid_to from snapshots.loan_history"


def _build(settings: Settings) -> None:
    python_steps.run(only_as(settings, "transformer"), refit=False)
    run_dbt(BUILD, only_as(settings, "transformer"))


def test_a_loan_changed_twice_has_three_versions_in_a_row(
    own_database: Callable[[str], Settings], small_sample: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = own_database("history")
    ensure_raw_tables_exist(settings)
    land_file(small_sample / "loans.csv", only_as(settings, "loader"), progress=False)
    python_steps.run(only_as(settings, "transformer"))
    run_dbt(BUILD, only_as(settings, "transformer"))
    batch = pq.read_table(small_sample / "loans.parquet").slice(0, 20).to_pylist()
    first = next(record for record in batch if record["Loan Status"].strip() != "Charged Off")
    resent = next(record for record in batch if record is not first)
    loan_id = int(first["Loan Id"])

    # build 2: its status changes; the other loan is sent again as it was (no new version)
    charged_off = {**first, "Loan Status": "Charged Off"}
    _insert_events(settings, [json.dumps(charged_off), json.dumps(resent)], 0)
    _build(settings)
    # build 3: a new amount
    _insert_events(settings, [json.dumps({**charged_off, "Loan Amount": 4_321.0})], 2)
    _build(settings)

    with psycopg.connect(settings.pg_dsn) as conn:
        versions = conn.execute(f"{VERSIONS} where loan_id = %s order by dbt_valid_from", (loan_id,)).fetchall()
        resent_versions = conn.execute(f"{VERSIONS} where loan_id = %s", (int(resent["Loan Id"]),)).fetchall()
        loans, history_loans = conn.execute(
            "select (select count(*) from marts.fct_loans),"
            " (select count(*) from snapshots.loan_history where dbt_valid_to is null)"
        ).fetchone() or (0, 0)

    assert [(status, amount) for status, amount, _, _ in versions] == [
        (first["Loan Status"].strip(), float(first["Loan Amount"])),
        ("Charged Off", float(first["Loan Amount"])),
        ("Charged Off", 4_321.0),
    ]
    (_, _, from_1, to_1), (_, _, from_2, to_2), (_, _, from_3, to_3) = versions
    assert from_1 < to_1 == from_2 < to_2 == from_3
    assert to_3 is None
    assert len(resent_versions) == 1 and resent_versions[0][3] is None
    assert loans == history_loans > 0

    # the snapshot's tests catch a current version unlike fct_loans, and versions that overlap
    run_dbt(CHECK, settings)
    version = "update snapshots.loan_history set {} where loan_id = %s and dbt_valid_from = %s"
    _fails_with(
        settings,
        capfd,
        "assert_loan_history_current_equals_fct_loans",
        version.format("loan_amount = 1"),
        version.format("loan_amount = 4321"),
        (loan_id, from_3),
    )
    _fails_with(settings, capfd, "assert_loan_history_ranges_follow_each_other",
                version.format("dbt_valid_to = %s"), version.format("dbt_valid_to = %s"),
                (to_2, loan_id, from_1), (to_1, loan_id, from_1))  # fmt: skip


def _fails_with(
    settings: Settings,
    capfd: pytest.CaptureFixture[str],
    failing_test: str,
    change: str,
    undo: str,
    params: tuple[object, ...],
    undo_params: tuple[object, ...] | None = None,
) -> None:
    """With the history changed by `change`, the snapshot's tests fail, `failing_test` among them."""
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(change, params)  # type: ignore[arg-type]
        try:
            capfd.readouterr()
            with pytest.raises(DbtError):
                run_dbt(CHECK, settings)
            assert f"FAIL 1 {failing_test}" in capfd.readouterr().out
        finally:
            conn.execute(undo, undo_params or params)  # type: ignore[arg-type]
