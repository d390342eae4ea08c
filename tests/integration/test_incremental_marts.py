"""The aggregate marts built incrementally, batch after batch, equal a full rebuild of them from
the same loans, on PostgreSQL and on Spark.

The batches move loans between groups (state, grade, issue month, verification, default
status, amount), add loans, and empty a state + grade group by moving all its loans out: each
incremental run must take a moved loan out of the group it leaves and add it to the one it joins,
recompute a group whose earliest or latest loan left, drop a group left empty and add a new one;
a table that missed a build must recompute instead. Few loans (a slice of the generated clean rows), so that most
state + grade groups start empty and moves make new ones.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.land import land_file
from lendflow.dbt import run_dbt
from lendflow.raw_tables import ensure_raw_tables_exist
from lendflow.settings import REPO_ROOT, Settings
from python_steps import run as python_steps
from spark_jobs.compare import row_differences
from tests.conftest import recreate_database
from tests.integration.test_spark import _dbt_in_process as dbt_in_process
from tests.strategies import DirtyRow, clean_rows, write_batch

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BASE_LOANS = 120
# The aggregate marts and the columns that identify their rows (a one-row mart: none).
AGGREGATE_MARTS: dict[str, tuple[str, ...]] = {
    "dash_avg_amount_by_state": ("addr_state",),
    "dash_loan_amount_by_grade": ("letter_grade",),
    "dash_loans_by_grade": ("letter_grade",),
    "dash_loans_per_month": ("month_start",),
    "dash_portfolio_totals": (),
    "dash_dq_summary": (),
    "rpt_amount_change_by_state_grade": ("addr_state", "letter_grade"),
    "rpt_defaults_by_emp_length_income": ("emp_length", "income_band"),
    "rpt_funding_gap_by_grade": ("letter_grade",),
    "rpt_issue_gap_by_grade": ("letter_grade",),
    "rpt_verified_amount_by_state": ("addr_state",),
}
# The aggregate tables under them (their groups with loans: an emptied group's row of nulls is
# only in an incremental build): per group, what the marts roll up, the minima and maxima too.
AGGREGATE_TABLES: dict[str, tuple[str, ...]] = {
    "int_loan_totals_by_state_grade": ("addr_state", "letter_grade"),
    "int_loan_totals_by_month": ("issue_year", "issue_month"),
    "int_default_totals_by_emp_length_income": ("emp_length", "income_band"),
}
# Columns stamped with the build's time: they differ between any two builds.
BUILD_TIME_COLUMNS = {"built_at", "dbt_updated_at"}
# The aggregate tables and every mart built from them: what a full rebuild of the marts redoes.
REBUILD_MARTS = ["run", "--full-refresh", "--select", "int_loan_contributions+"]

STATES = sorted({row["Addr State"] for row in clean_rows()})
VERIFICATIONS = ["Verified", "Source Verified", "Not Verified"]
STATUSES = ["Current", "Fully Paid", "Charged Off", "Default", "Late (31-120 days)"]
Loans = dict[str, dict[str, str]]  # loan id -> its latest raw record


def letter_grade(record: dict[str, str]) -> str:
    return "ABCDEFG"[(int(record["Grade"]) - 1) // 5]


# --- the batches: edits of the loans as they are after the batches before ---------------------
@dataclass(frozen=True)
class Edit:
    """Change one field group of the loan at `position` (among the loans sorted by id)."""

    position: int
    kind: str
    value: str


# The values each kind of edit sets; "empty_group": every loan of the edited loan's state +
# grade moves to the state given, and the group empties.
EDIT_VALUES: dict[str, st.SearchStrategy[str]] = {
    "state": st.sampled_from(STATES),
    "grade": st.integers(1, 35).map(str),
    "month": st.dates(date(2012, 1, 1), date(2019, 12, 28)).map(lambda day: day.strftime("%d %B %Y")),
    "verification": st.sampled_from(VERIFICATIONS),
    "status": st.sampled_from(STATUSES),
    "amount": st.integers(1_000, 40_000).map(str),
    "empty_group": st.sampled_from(STATES),
}


def edit_of(kind: str) -> st.SearchStrategy[Edit]:
    return st.builds(Edit, st.integers(0, 10**6), st.just(kind), EDIT_VALUES[kind])


edits = st.one_of(*(edit_of(kind) for kind in EDIT_VALUES))


@dataclass(frozen=True)
class Batch:
    edits: list[Edit]
    new_loans: int  # taken from the clean rows not landed yet


batches = st.lists(
    st.builds(Batch, st.lists(edits, min_size=1, max_size=8), st.integers(0, 5)),
    min_size=2,
    max_size=3,
)


# One batch that surely moves loans across states, grades and months, empties a state + grade
# group and adds loans (Spark: one incremental run must show it all).
one_rich_batch = st.builds(
    lambda moves, more, new_loans: [Batch([*moves, *more], new_loans)],
    st.tuples(*(edit_of(kind) for kind in ("state", "grade", "month", "empty_group"))),
    st.lists(edits, max_size=4),
    st.integers(1, 3),
)


def edited(record: dict[str, str], edit: Edit) -> dict[str, str]:
    fields = {
        "state": {"Addr State": edit.value, "State": edit.value},
        "grade": {"Grade": edit.value},
        "month": {"Issue Date": edit.value},
        "verification": {"Verification Status": edit.value},
        "status": {"Loan Status": edit.value},
        "amount": {"Loan Amount": edit.value, "Funded Amount": edit.value},
        "empty_group": {"Addr State": edit.value, "State": edit.value},
    }[edit.kind]
    return {**record, **fields}


def apply_batch(loans: Loans, batch: Batch, spare: list[dict[str, str]]) -> Loans:
    """The records a batch file holds (one per loan: its latest), applied to `loans` (changed in place)."""
    written: Loans = {}
    ids = sorted(loans)
    for edit in batch.edits:
        loan = loans[ids[edit.position % len(ids)]]
        group = [
            other
            for other in loans.values()
            if edit.kind == "empty_group"
            and (other["Addr State"], letter_grade(other)) == (loan["Addr State"], letter_grade(loan))
        ] or [loan]
        for record in group:
            written[record["Loan Id"]] = loans[record["Loan Id"]] = edited(record, edit)
    for record in spare[: batch.new_loans]:
        written[record["Loan Id"]] = loans[record["Loan Id"]] = dict(record)
    del spare[: batch.new_loans]
    return written


def issue_day(record: dict[str, str]) -> date:
    return datetime.strptime(record["Issue Date"], "%d %B %Y").date()


def earliest_loan_leaves_its_group(loans: Loans) -> Edit:
    """The earliest loan of the largest state + grade group moves to a later month: the group's
    first issue date leaves it, and a minimum cannot be taken back (the group is recomputed)."""
    ids = sorted(loans)
    groups: dict[tuple[str, str], list[str]] = {}
    for loan_id in ids:
        groups.setdefault((loans[loan_id]["Addr State"], letter_grade(loans[loan_id])), []).append(loan_id)
    largest = max(groups.values(), key=len)
    earliest = min(largest, key=lambda loan_id: issue_day(loans[loan_id]))
    return Edit(ids.index(earliest), "month", "28 December 2019")  # after every generated month


def batch_files(planned: list[Batch], out: Path) -> list[Path]:
    """The base file, then one file per batch, as a sender would send them; the first batch
    also moves a group's earliest loan out of its month."""
    rows = clean_rows()
    loans: Loans = {row["Loan Id"]: dict(row) for row in rows[:BASE_LOANS]}
    spare = [dict(row) for row in rows[BASE_LOANS:]]
    files = [_write(list(loans.values()), out / "base.csv")]
    first = planned[0]
    planned = [dataclasses.replace(first, edits=[earliest_loan_leaves_its_group(loans), *first.edits]), *planned[1:]]
    for number, batch in enumerate(planned):
        written = apply_batch(loans, batch, spare)
        files.append(_write(list(written.values()), out / f"batch-{number}.csv"))
    return files


def _write(records: list[dict[str, str]], path: Path) -> Path:
    return write_batch([DirtyRow(record, frozenset()) for record in records], path)


Marts = dict[str, list[dict[str, Any]]]  # mart -> its rows


# --- comparing ----------------------------------------------------------------------------------
def mart_differences(incremental: Marts, full: Marts) -> dict[str, list[str]]:
    problems = {}
    for mart, keys in (AGGREGATE_MARTS | AGGREGATE_TABLES).items():
        columns = [c for c in (full[mart] or incremental[mart] or [{}])[0] if c not in BUILD_TIME_COLUMNS]
        found = row_differences(incremental[mart], full[mart], keys, [c for c in columns if c not in keys])
        if found:
            problems[mart] = found
    return problems


def _pg_marts(settings_: Settings) -> Marts:
    with psycopg.connect(settings_.pg_dsn) as conn, conn.cursor() as cursor:
        marts = {}
        for relation in [*(f"marts.{mart}" for mart in AGGREGATE_MARTS),
                         *(f"intermediate.{table} where loans is not null" for table in AGGREGATE_TABLES)]:  # fmt: skip
            cursor.execute(f"select * from {relation}")  # type: ignore[arg-type]
            names = [d.name for d in cursor.description or []]
            marts[relation.split(".")[1].split()[0]] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return marts


# --- PostgreSQL ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pg_warehouse(postgres: Settings) -> Callable[[], Settings]:
    """A fresh database for each example."""
    return lambda: recreate_database(dataclasses.replace(postgres, pg_db=f"{postgres.pg_db}_incremental_marts"))


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(planned=batches)
def test_incremental_marts_equal_a_full_rebuild_on_postgres(
    planned: list[Batch], pg_warehouse: Callable[[], Settings], tmp_path_factory: pytest.TempPathFactory
) -> None:
    warehouse = pg_warehouse()
    ensure_raw_tables_exist(warehouse)
    base, *later = batch_files(planned, tmp_path_factory.mktemp("batches"))
    land_file(base, warehouse, progress=False)
    python_steps.run(warehouse)
    run_dbt(["seed"], warehouse)
    run_dbt(["run"], warehouse)
    for path in later:
        land_file(path, warehouse, progress=False)
        run_dbt(["run"], warehouse)
    incremental = _pg_marts(warehouse)
    run_dbt(REBUILD_MARTS, warehouse)
    assert mart_differences(incremental, _pg_marts(warehouse)) == {}


# The builds an aggregate table can miss, and what the run after must do: recompute every group
# instead of adding a delta that takes back contributions it never counted.
MISSED_BUILDS = {
    # the batch's run stops at int_loan_contributions: its previous contributions are uncounted
    "missed": [["run", "--select", "+int_loan_contributions"]],
    # ...and int_loan_contributions is then rebuilt alone: every row looks new
    "rebuilt": [["run", "--select", "+int_loan_contributions"],
                ["run", "--full-refresh", "--select", "int_loan_contributions"]],
}  # fmt: skip


@pytest.mark.parametrize("missed", sorted(MISSED_BUILDS))
@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(planned=st.lists(st.builds(Batch, st.lists(edits, min_size=3, max_size=8), st.integers(1, 5)),
                        min_size=2, max_size=2))  # fmt: skip
def test_aggregates_that_missed_a_build_recompute_to_a_full_rebuild(
    missed: str, planned: list[Batch], pg_warehouse: Callable[[], Settings], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # the second batch changes a loan the first one changed: its previous contribution is the
    # first batch's, which the aggregate tables never counted
    again = Edit(planned[0].edits[0].position, "amount", "45678")  # outside EDIT_VALUES' amounts
    planned = [planned[0], dataclasses.replace(planned[1], edits=[again, *planned[1].edits])]
    warehouse = pg_warehouse()
    ensure_raw_tables_exist(warehouse)
    base, first, second = batch_files(planned, tmp_path_factory.mktemp("batches"))
    land_file(base, warehouse, progress=False)
    python_steps.run(warehouse)
    run_dbt(["seed"], warehouse)
    run_dbt(["run"], warehouse)
    land_file(first, warehouse, progress=False)
    for args in MISSED_BUILDS[missed]:
        run_dbt(args, warehouse)
    land_file(second, warehouse, progress=False)
    run_dbt(["run"], warehouse)
    incremental = _pg_marts(warehouse)
    run_dbt(REBUILD_MARTS, warehouse)
    assert mart_differences(incremental, _pg_marts(warehouse)) == {}


# --- Spark --------------------------------------------------------------------------------------
# The Spark side runs in a process of its own: a JVM keeps the Derby metastore of the first
# Spark session it started (its system home is a JVM option), so a second session in the same
# test process, with another Spark home, would build into the first one's catalog and mix its
# tables with another test's (tests/integration/test_spark.py's).
def _spark_marts(spark: Any) -> Marts:
    marts = {mart: [row.asDict() for row in spark.table(f"marts.{mart}").collect()] for mart in AGGREGATE_MARTS}
    tables = {table: [row.asDict() for row in spark.table(f"intermediate.{table}").where("loans is not null").collect()]
              for table in AGGREGATE_TABLES}  # fmt: skip
    return marts | tables


def spark_differences(work: Path, base: Path, later: list[Path]) -> dict[str, list[str]]:
    """Stage base, build, stage each later batch and build again, then rebuild the marts in full;
    the marts that differ between the two. Runs in the process's first (and only) Spark session."""
    from lendflow import settings as config
    from lendflow.services import spark as spark_service
    from python_steps import spark as spark_python_steps
    from spark_jobs import staging

    spark_settings = config.load()
    dirs = ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]

    def dbt(args: list[str]) -> None:
        failures = dbt_in_process([*args, *dirs], spark_settings, "spark")
        if failures:
            raise RuntimeError(f"dbt {' '.join(args)} failed on Spark: {failures}")

    spark = spark_service.session(spark_settings)
    try:
        staging.stage_file(spark, base, spark_settings, progress=False)
        spark_python_steps.run(spark)
        dbt(["seed"])
        dbt(["run"])
        for path in later:
            staging.stage_file(spark, path, spark_settings, progress=False)
            dbt(["run"])
        incremental = _spark_marts(spark)
        dbt(REBUILD_MARTS)
        return mart_differences(incremental, _spark_marts(spark))
    finally:
        spark.stop()


@pytest.mark.spark
@pytest.mark.timeout(3600)  # a JVM, and each dbt run minutes on Spark
@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(planned=one_rich_batch)
def test_incremental_marts_equal_a_full_rebuild_on_spark(
    planned: list[Batch], postgres: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """One example of one batch (a dbt run on Spark takes minutes), in a Spark home and a process of its own."""
    work = tmp_path_factory.mktemp("spark-marts")
    files = batch_files(planned, work)
    result = work / "differences.json"
    env = {**os.environ, "LENDFLOW_PG_DB": postgres.pg_db, "LENDFLOW_SPARK_HOME": str(work / "spark-home")}
    cmd = [sys.executable, "-m", "tests.integration.test_incremental_marts", str(work), str(result), *map(str, files)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert json.loads(result.read_text()) == {}


if __name__ == "__main__":
    work_dir, result_file, base_file, *later_files = sys.argv[1:]
    found = spark_differences(Path(work_dir), Path(base_file), [Path(path) for path in later_files])
    Path(result_file).write_text(json.dumps(found))
