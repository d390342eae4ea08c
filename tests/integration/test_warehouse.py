"""The dbt warehouse on PostgreSQL, end to end on a small generated sample.

One session-scoped build: the sample is landed twice (CSV and Parquet: every loan arrives
twice), stream events are stored as the consumer stores them (new loans, updates of batch
loans, and dirt: EOF, broken JSON, a missing key), a file with impossible values is landed,
then the Python steps and `dbt build` run once. The tests read the result. The business
answers are recomputed with pandas straight from the raw files, independently of the SQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from psycopg import sql

from ingestion.land import land_file
from lendflow.dbt import DbtError, run_dbt
from lendflow.raw_tables import ensure_raw_tables, ensure_raw_tables_exist
from lendflow.settings import Settings
from python_steps import run as python_steps
from tests.conftest import only_as

pytestmark = pytest.mark.postgres

TOPIC = "loans_warehouse_test"
UPDATED_AMOUNT = 12_345.0
DIRTY_LOAN_IDS = {"loan_amount_out_of_range": 990_001, "unknown_addr_state": 990_002, "non_numeric_annual_inc": 990_003,
                  "unparseable_issue_date": 990_004}  # fmt: skip


@dataclass(frozen=True)
class Warehouse:
    settings: Settings
    sample: Path
    stream_records: list[dict[str, object]]  # valid stream records, in the order they were sent
    updated_ids: list[int]
    bad_events: dict[str, str]  # expected quarantine reason -> record_ref

    def query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.settings.pg_dsn) as conn:
            return conn.execute(statement, params).fetchall()  # type: ignore[arg-type]

    def frame(self, statement: str) -> pd.DataFrame:
        with psycopg.connect(self.settings.pg_dsn) as conn, conn.cursor() as cursor:
            cursor.execute(statement)  # type: ignore[arg-type]
            columns = [c.name for c in cursor.description or []]
            return pd.DataFrame(cursor.fetchall(), columns=columns)


def _insert_events(settings: Settings, values: list[str], first_offset: int) -> list[str]:
    """Store messages in raw.loan_events exactly as the consumer does; return their record refs."""
    with psycopg.connect(settings.pg_dsn) as conn:
        ensure_raw_tables(conn)
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into raw.loan_events (topic, kafka_partition, kafka_offset, message_key, message_value,"
                " message_timestamp) values (%s, 0, %s, null, %s, now())",
                [(TOPIC, first_offset + i, value) for i, value in enumerate(values)],
            )
    return [f"kafka:{TOPIC}/0/{first_offset + i}" for i in range(len(values))]


def _dirty_file(sample: Path, out: Path) -> Path:
    """Four batch records, each with one impossible value, as a CSV file."""
    table = pacsv.read_csv(sample / "loans.csv", convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    rows = table.slice(0, 4).to_pandas()
    rows["Loan Id"] = list(DIRTY_LOAN_IDS.values())
    rows["Loan Amount"] = rows["Loan Amount"].astype(object)
    rows["Annual Inc"] = rows["Annual Inc"].astype(object)
    rows.loc[0, "Loan Amount"] = -500
    rows.loc[1, "Addr State"] = "ZZ"
    rows.loc[2, "Annual Inc"] = "a lot"
    rows.loc[3, "Issue Date"] = "31 February 2015"
    path = out / "dirty.csv"
    rows.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def warehouse(
    own_database: Callable[[str], Settings], small_sample: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouse]:
    settings = own_database("warehouse")  # exact counts: only this module's input
    ensure_raw_tables_exist(settings)  # the owner's part (as `lendflow up` on a new warehouse)
    loader = only_as(settings, "loader")  # landing needs nothing but the loader role
    land_file(small_sample / "loans.csv", loader, progress=False)
    land_file(small_sample / "loans.parquet", loader, progress=False)
    land_file(_dirty_file(small_sample, tmp_path_factory.mktemp("dirty")), loader, progress=False)

    stream = pq.read_table(small_sample / "stream.parquet").slice(0, 200).to_pylist()
    batch = pq.read_table(small_sample / "loans.parquet").slice(0, 5).to_pylist()
    updates = [{**record, "Loan Amount": UPDATED_AMOUNT, "Funded Amount": UPDATED_AMOUNT} for record in batch]
    valid = stream + updates
    refs = _insert_events(settings, [json.dumps(record) for record in valid], 0)
    missing_key = {k: v for k, v in stream[0].items() if k != "Grade"}
    bad = {
        "end_of_stream_marker": "EOF",
        "unparseable_json": "{not json",
        "missing_key_grade": json.dumps(missing_key),
    }
    bad_refs = _insert_events(settings, list(bad.values()), len(refs))
    # The transform runs as it does in production: as the transformer, and as nothing else.
    python_steps.run(only_as(settings, "transformer"))
    run_dbt(["build"], only_as(settings, "transformer"))
    yield Warehouse(
        settings,
        small_sample,
        valid,
        [int(record["Loan Id"]) for record in batch],  # type: ignore[call-overload]
        dict(zip(bad, bad_refs, strict=True)),
    )


# --- pandas, independently of the SQL --------------------------------------------------------
def expected_loans(sample: Path, stream_records: list[dict[str, object]]) -> pd.DataFrame:
    """The cleaned loans as DATA.md defines them, computed with pandas from the raw inputs."""
    batch = pd.read_csv(sample / "loans.csv", dtype={"Emp Length": "string"})
    frame = pd.concat([batch, pd.DataFrame(stream_records)], ignore_index=True)
    frame = frame.drop_duplicates("Loan Id", keep="last")  # the stream came later and wins
    out = pd.DataFrame(
        {
            "loan_id": frame["Loan Id"].astype("int64"),
            "loan_amount": frame["Loan Amount"].astype(float),
            "funded_amount": frame["Funded Amount"].astype(float),
            "annual_inc": frame["Annual Inc"].astype(float),
            "grade": frame["Grade"].astype(int),
            "addr_state": frame["Addr State"].str.strip(),
            "verification_status": frame["Verification Status"].str.strip(),
            "loan_status": frame["Loan Status"].str.strip(),
            "emp_length": frame["Emp Length"].str.strip(),
            "int_rate": frame["Int Rate"].astype(float),
            "issue_date": pd.to_datetime(frame["Issue Date"].str.strip(), format="%d %B %Y"),
        }
    )
    out["letter_grade"] = out["grade"].map(lambda g: "ABCDEFG"[(g - 1) // 5])
    out["income_band"] = pd.cut(out["annual_inc"], [-float("inf"), 50_000, 200_000, float("inf")],
                                labels=["low", "medium", "high"], right=False).astype(str)  # fmt: skip
    out["int_rate"] = out["int_rate"].fillna(out.groupby("letter_grade")["int_rate"].transform("mean"))
    modes = {
        band: group.value_counts()
        .reset_index()
        .sort_values(["count", "emp_length"], ascending=[False, True])
        .iloc[0, 0]
        for band, group in out.dropna(subset=["emp_length"]).groupby("income_band")["emp_length"]
    }
    out["emp_length"] = out["emp_length"].fillna(out["income_band"].map(modes))
    out["is_defaulted"] = out["loan_status"].isin(["Charged Off", "Default"])
    return out


def _close(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    actual = actual.sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(actual[expected.columns], expected, check_dtype=False, rtol=1e-9)


# --- the tests -----------------------------------------------------------------------------------
def test_the_transformer_owns_every_model_and_the_reader_reads_every_mart(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.settings.pg_dsn) as conn:
        owners = conn.execute(
            "select n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner) from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'v', 'm')"
            " and n.nspname in ('staging', 'intermediate', 'marts', 'seeds', 'python_steps')"
        ).fetchall()
    assert len(owners) > 40
    assert {owner for _, owner in owners} == {"lendflow_transformer"}
    marts = [name for name, _ in owners if name.startswith("marts.")]
    with psycopg.connect(warehouse.settings.role_dsn("reader")) as reader:
        for name in marts:
            reader.execute(f"select * from {name} limit 1")  # type: ignore[arg-type]


def test_the_python_steps_leave_statistics_for_the_build_after_them(warehouse: Warehouse) -> None:
    """dbt builds seconds after the steps write, before autovacuum would analyse their tables;
    without statistics PostgreSQL planned the wide joins of a fresh build badly (python_steps/run.py)."""
    analyzed = warehouse.query(
        "select relname from pg_stat_user_tables where schemaname = 'python_steps' and last_analyze is not null"
    )
    assert sorted(name for (name,) in analyzed) == ["emp_title_map", "fitted_transforms"]


def test_one_row_per_loan_and_the_latest_stream_event_wins(warehouse: Warehouse) -> None:
    expected = expected_loans(warehouse.sample, warehouse.stream_records)
    rows = warehouse.query("select count(*), count(distinct loan_id) from marts.fct_loans")
    assert rows == [(len(expected), len(expected))]
    updated = warehouse.query(
        "select loan_id, record_source, loan_amount from marts.fct_loans where loan_id = any(%s) order by loan_id",
        (warehouse.updated_ids,),
    )
    assert updated == [(i, "stream", UPDATED_AMOUNT) for i in sorted(warehouse.updated_ids)]


def test_unusable_records_are_quarantined_with_their_reason(warehouse: Warehouse) -> None:
    batch = dict(warehouse.query("select loan_id, quarantine_reason from marts.fct_quarantined_loans"
                                 " where record_source = 'batch'"))  # fmt: skip
    assert batch == {loan_id: reason for reason, loan_id in DIRTY_LOAN_IDS.items()}
    stream = dict(warehouse.query("select record_ref, quarantine_reason from marts.fct_quarantined_loans"
                                  " where record_source = 'stream'"))  # fmt: skip
    assert stream == {ref: reason for reason, ref in warehouse.bad_events.items()}


def test_raw_rows_reconcile_with_kept_superseded_and_quarantined(warehouse: Warehouse) -> None:
    sample_rows = len(pd.read_csv(warehouse.sample / "loans.csv", usecols=["Loan Id"]))
    kept = dict(warehouse.query("select record_source, count(*) from marts.fct_loans group by 1"))
    superseded = dict(warehouse.query(
        "select record_source, count(*) from intermediate.int_loan_records_ranked where precedence_rank > 1 group by 1"
    ))  # fmt: skip
    quarantined = dict(warehouse.query("select record_source, count(*) from marts.fct_quarantined_loans group by 1"))
    batch_in = 2 * sample_rows + len(DIRTY_LOAN_IDS)  # CSV + Parquet of one sample, and the dirty file
    stream_in = len(warehouse.stream_records) + len(warehouse.bad_events)
    assert kept["batch"] + superseded["batch"] + quarantined["batch"] == batch_in
    assert kept["stream"] + superseded.get("stream", 0) + quarantined["stream"] == stream_in
    # every sample loan arrived twice: one copy kept (or replaced by the stream), one superseded
    assert superseded["batch"] == sample_rows + len(warehouse.updated_ids)


def test_question_1_defaults_by_emp_length_and_income(warehouse: Warehouse) -> None:
    loans = expected_loans(warehouse.sample, warehouse.stream_records)
    expected = (
        loans[loans["is_defaulted"]]
        .groupby(["emp_length", "income_band"])
        .agg(
            defaulted_loans=("loan_id", "size"),
            avg_loan_amount=("loan_amount", "mean"),
            avg_int_rate=("int_rate", "mean"),
        )
        .reset_index()
    )
    actual = warehouse.frame("select * from marts.rpt_defaults_by_emp_length_income")
    _close(actual, expected, ["emp_length", "income_band"])


def test_question_2_funding_gap_by_grade_largest_first(warehouse: Warehouse) -> None:
    loans = expected_loans(warehouse.sample, warehouse.stream_records)
    gaps = (loans["loan_amount"] - loans["funded_amount"]).groupby(loans["letter_grade"]).mean()
    expected = gaps.rename("avg_funding_gap").reset_index()
    actual = warehouse.frame("select * from marts.rpt_funding_gap_by_grade order by gap_rank")
    _close(actual, expected, ["letter_grade"])
    assert actual["avg_funding_gap"].is_monotonic_decreasing


def test_question_3_verified_amount_by_state(warehouse: Warehouse) -> None:
    loans = expected_loans(warehouse.sample, warehouse.stream_records)
    verified = loans["verification_status"].isin(["Verified", "Source Verified"])
    expected = pd.DataFrame(
        {
            "verified_loan_amount": loans["loan_amount"].where(verified, 0).groupby(loans["addr_state"]).sum(),
            "not_verified_loan_amount": loans["loan_amount"]
            .where(loans["verification_status"] == "Not Verified", 0)
            .groupby(loans["addr_state"])
            .sum(),
        }
    ).reset_index()
    actual = warehouse.frame("select * from marts.rpt_verified_amount_by_state")
    _close(actual, expected, ["addr_state"])


def test_question_4_issue_gap_by_grade(warehouse: Warehouse) -> None:
    loans = expected_loans(warehouse.sample, warehouse.stream_records).sort_values(
        ["letter_grade", "issue_date", "loan_id"]
    )
    gap = loans.groupby("letter_grade")["issue_date"].diff().dt.days
    expected = gap.groupby(loans["letter_grade"]).mean().rename("avg_gap_days").reset_index()
    actual = warehouse.frame("select * from marts.rpt_issue_gap_by_grade")
    _close(actual, expected, ["letter_grade"])


def test_question_5_amount_change_by_state_grade(warehouse: Warehouse) -> None:
    loans = expected_loans(warehouse.sample, warehouse.stream_records).sort_values(
        ["addr_state", "letter_grade", "issue_date", "loan_id"]
    )
    change = loans.groupby(["addr_state", "letter_grade"])["loan_amount"].diff()
    expected = (
        change.groupby([loans["addr_state"], loans["letter_grade"]]).mean().rename("avg_amount_change").reset_index()
    )
    actual = warehouse.frame("select * from marts.rpt_amount_change_by_state_grade")
    _close(actual, expected, ["addr_state", "letter_grade"])


def test_lookup_values_give_back_the_raw_values(warehouse: Warehouse) -> None:
    """Decode fct_loans with lookup_values alone and compare with the raw CSV, loan by loan."""
    raw = pd.read_csv(warehouse.sample / "loans.csv", dtype=str, keep_default_na=False).set_index("Loan Id")
    fct = warehouse.frame("select * from marts.fct_loans where record_source = 'batch'").set_index("loan_id")
    fct.index = fct.index.astype(str)
    lookup = warehouse.frame("select * from marts.lookup_values")

    def decode(column: str, codes: pd.Series) -> pd.Series:
        table = lookup[(lookup["column_name"] == column) & (lookup["kind"] == "encoding")]
        return (
            codes.astype("Int64")
            .astype(str)
            .map(dict(zip(table["encoded_value"], table["original_value"], strict=True)))
        )

    raw = raw.loc[fct.index]
    assert (decode("addr_state", fct["addr_state_code"]) == raw["Addr State"].str.strip()).all()
    assert (decode("purpose", fct["purpose_code"]) == raw["Purpose"].str.strip()).all()
    present = raw["Emp Length"].str.strip() != ""
    assert (decode("emp_length", fct["emp_length_years"])[present] == raw["Emp Length"].str.strip()[present]).all()
    assert not fct["emp_length_was_imputed"][present].any() and fct["emp_length_was_imputed"][~present].all()
    for column, raw_column in (("home_ownership", "Home Ownership"), ("verification_status", "Verification Status")):
        one_hot = lookup[(lookup["column_name"] == column) & (lookup["kind"] == "encoding")]
        decoded = pd.Series(index=fct.index, dtype=object)
        for original, encoded_column in zip(one_hot["original_value"], one_hot["encoded_value"], strict=True):
            decoded[fct[encoded_column] == 1] = original
        assert (decoded == raw[raw_column].str.strip()).all()
    titles = lookup[lookup["kind"] == "canonical_title"]
    canonical_of = dict(zip(titles["original_value"], titles["encoded_value"], strict=True))
    has_title = raw["Emp Title"].str.strip() != ""
    assert (fct["emp_title_raw"][has_title] == raw["Emp Title"].str.strip(" ")[has_title]).all()
    assert (fct["emp_title_raw"][has_title].map(canonical_of) == fct["emp_title"][has_title]).all()
    rate_present = raw["Int Rate"] != ""
    assert (fct["int_rate"][rate_present] == raw["Int Rate"][rate_present].astype(float)).all()
    imputed = lookup[(lookup["column_name"] == "int_rate") & (lookup["kind"] == "imputation")]
    filled = dict(zip(imputed["context"], imputed["encoded_value"].astype(float), strict=True))
    missing = fct[~rate_present]
    assert len(missing) > 0
    assert (missing["int_rate"] == ("letter_grade=" + missing["letter_grade"]).map(filled)).all()


def test_the_reversibility_test_catches_a_missing_lookup_row(warehouse: Warehouse) -> None:
    """dbt's own reversibility test fails when a code no longer decodes (a test that can fail)."""
    check = ["test", "--select", "assert_lookup_values_reverse_fct_loans", "--quiet"]
    run_dbt(check, warehouse.settings)
    with psycopg.connect(warehouse.settings.pg_dsn, autocommit=True) as conn:
        removed = conn.execute(
            "delete from marts.lookup_values where column_name = 'addr_state' and kind = 'encoding'"
            " and original_value = (select addr_state from marts.fct_loans limit 1) returning *"
        ).fetchall()
        assert len(removed) == 1
        try:
            with pytest.raises(DbtError):
                run_dbt(check, warehouse.settings)
        finally:
            placeholders = ", ".join(["%s"] * len(removed[0]))
            conn.execute(f"insert into marts.lookup_values values ({placeholders})", removed[0])  # type: ignore[arg-type]
    run_dbt(check, warehouse.settings)


@pytest.mark.parametrize(("column", "bad_value"), [("home_ownership_rent", 7), ("emp_title", None)])
def test_fct_loans_tests_check_the_latest_builds_rows_or_all_rows_when_asked(
    warehouse: Warehouse, column: str, bad_value: object
) -> None:
    """A bad value (not accepted, or null) in a row an earlier build wrote is not tested again
    by default (that row passed when it was written); `test_all_rows` tests it, and fails."""
    check = ["test", "--select", "fct_loans,test_type:data", "--quiet"]
    with psycopg.connect(warehouse.settings.pg_dsn, autocommit=True) as conn:
        loan_id, original = conn.execute(
            sql.SQL("select loan_id, {} from marts.fct_loans order by loan_id limit 1").format(sql.Identifier(column))
        ).fetchone() or (None, None)
        assert original is not None
        set_column = sql.SQL(
            "update marts.fct_loans set {} = %s, dbt_updated_at = dbt_updated_at + %s::interval where loan_id = %s"
        ).format(sql.Identifier(column))
        conn.execute(set_column, (bad_value, "-1 day", loan_id))
        try:
            run_dbt(check, warehouse.settings)
            with pytest.raises(DbtError):
                run_dbt([*check, "--vars", "{test_all_rows: true}"], warehouse.settings)
        finally:
            conn.execute(set_column, (original, "1 day", loan_id))
    run_dbt([*check, "--vars", "{test_all_rows: true}"], warehouse.settings)


def test_export_writes_csv_and_parquet_with_types(warehouse: Warehouse, tmp_path: Path) -> None:
    from lendflow.export import export

    tables = {t.name: t for t in export(warehouse.settings, tmp_path)}
    (count,) = warehouse.query("select count(*) from marts.fct_loans")[0]
    loans = pq.read_table(tables["fct_loans"].parquet_path)
    assert loans.num_rows == tables["fct_loans"].rows == count
    assert str(loans.schema.field("issue_date").type) == "date32[day]"
    assert str(loans.schema.field("is_defaulted").type) == "bool"
    assert len(pd.read_csv(tables["lookup_values"].csv_path)) == tables["lookup_values"].rows > 0


def test_lendflow_dbt_passes_dbts_own_options_through(warehouse: Warehouse) -> None:
    """`lendflow dbt build -s fct_loans --full-refresh`, as the README writes it: dbt's options
    reach dbt (they once stopped at lendflow's parser: "No such option: -s")."""
    listed = subprocess.run(
        [sys.executable, "-m", "cli", "dbt", "ls", "-s", "fct_loans", "--resource-type", "model",
         "--output", "name"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert listed.stdout.splitlines()[-1] == "fct_loans", listed.stdout
    assert "dim_states" not in listed.stdout, "the selection did not reach dbt"


def test_an_int_loans_lagged_of_another_version_stops_the_run_and_says_to_rebuild(
    warehouse: Warehouse, capfd: pytest.CaptureFixture[str]
) -> None:
    """A table left by a version that stored other columns (here: one the wide version before
    it stored) is never merged into: the run stops and says how to rebuild it."""
    alter = "alter table intermediate.int_loans_lagged {} column customer_id{}"
    with psycopg.connect(warehouse.settings.pg_dsn, autocommit=True) as conn:
        conn.execute(alter.format("add", " text"))
        try:
            capfd.readouterr()
            with pytest.raises(DbtError):
                run_dbt(["run", "--select", "int_loans_lagged"], warehouse.settings)
            out = capfd.readouterr().out
            assert "out of sync" in out and "full_refresh" in out and "customer_id" in out, out[-3000:]
        finally:
            conn.execute(alter.format("drop", ""))
    run_dbt(["run", "--select", "int_loans_lagged"], warehouse.settings)


def test_new_events_merge_incrementally(warehouse: Warehouse) -> None:
    """Runs last (it changes the warehouse): new events are parsed alone and merged on loan_id,
    and the lag features of the loans after a new one are rewritten."""
    before = warehouse.query("select count(*) from staging.stg_raw__loan_events")[0][0]
    updated_id, moved_id = warehouse.updated_ids[:2]
    update = {**warehouse.stream_records[-5], "Loan Amount": 999.0}
    # a loan that moves: the loans after the place it leaves get a new previous loan too
    moved = {**warehouse.stream_records[-4], "Issue Date": "1 January 2007", "Grade": 1}
    assert int(moved["Loan Id"]) == moved_id  # type: ignore[call-overload]
    unused = pq.read_table(warehouse.sample / "stream.parquet").slice(300, 20).to_pylist()
    offset = len(warehouse.stream_records) + len(warehouse.bad_events)
    _insert_events(warehouse.settings, [json.dumps(r) for r in [update, moved, *unused]], offset)
    # As the pipeline does before every build: new titles join the title map (nothing refitted),
    # so the reversibility test sees every new loan's title in lookup_values.
    python_steps.run(only_as(warehouse.settings, "transformer"), refit=False)
    run_dbt(["build", "--select", "stg_raw__loan_events+", "--exclude", "path:models/marts/dashboard"],
            warehouse.settings)  # fmt: skip
    after = warehouse.query("select count(*) from staging.stg_raw__loan_events")[0][0]
    assert after == before + 2 + len(unused)
    assert warehouse.query("select loan_amount from marts.fct_loans where loan_id = %s", (updated_id,)) == [(999.0,)]
    assert warehouse.query("select issue_date, letter_grade from marts.fct_loans where loan_id = %s", (moved_id,)) == [
        (date(2007, 1, 1), "A")
    ]
    new_ids = [int(r["Loan Id"]) for r in unused]  # type: ignore[call-overload]
    assert warehouse.query("select count(*) from marts.fct_loans where loan_id = any(%s)", (new_ids,)) == [(20,)]
    # the stored lags equal a window over the whole merged table, for every loan
    stale = warehouse.query("""
        select count(*) from (
            select
                prev_issue_date_in_grade, prev_loan_amount_in_grade,
                prev_issue_date_in_state_grade, prev_loan_amount_in_state_grade,
                lag(issue_date) over grade_order as grade_date,
                lag(loan_amount) over grade_order as grade_amount,
                lag(issue_date) over state_grade_order as state_grade_date,
                lag(loan_amount) over state_grade_order as state_grade_amount
            from marts.fct_loans
            window
                grade_order as (partition by letter_grade order by issue_date, loan_id),
                state_grade_order as (partition by addr_state, letter_grade order by issue_date, loan_id)
        ) as recomputed
        where prev_issue_date_in_grade is distinct from grade_date
            or prev_loan_amount_in_grade is distinct from grade_amount
            or prev_issue_date_in_state_grade is distinct from state_grade_date
            or prev_loan_amount_in_state_grade is distinct from state_grade_amount""")
    assert stale == [(0,)]
