"""The warehouse on Spark: staging, the dbt spark target, parity with PostgreSQL, the questions
two ways, the ML encoders and the Parquet/JDBC export, against real Spark, PostgreSQL and Kafka.

One Spark home (warehouse + Derby metastore + checkpoints) for the module in a temporary
folder, so a run never fights another over a Derby lock; one build per engine from the same
input, the generated sample file and its stream sample on a fresh topic. Local mode's build is a
run of the `lending_elt_spark` DAG (`lendflow airflow-run`, in a process of its own); then one
JVM for the rest of the module (dbt runs in-process and reuses the session, as dbt-spark's
session method does), stopped with it, so a module run after it starts a session of its own.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis
import psycopg
import pytest
from hypothesis import strategies as st

from ingestion.land import land_file
from lendflow.dbt import DbtError, dbt_env, run_dbt
from lendflow.settings import DBT_PROJECT_DIR, PROFILES_DIR, Settings
from spark_jobs.compare import row_differences
from tests.parity import marts_differ, pg_rows
from tests.spark_dag import (
    SparkDagRun,
    assert_every_model_ran_and_the_marts_hold_the_loans,
    dbt_build_failures,
    run_lending_elt_spark,
    unit_test_failures,
)
from tests.strategies import DirtyRow, clean_rows, dirtied, dirty_rows, write_batch

pytestmark = [pytest.mark.spark, pytest.mark.airflow, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

CLEAN = clean_rows()
_dirty_loan_ids = itertools.count(600_000_000_000)


@dataclass
class Warehouses:
    pg: Settings
    spark_settings: Settings
    spark: Any  # pyspark.sql.SparkSession
    topic: str
    loans_file: Path
    work: Path
    dag_run: SparkDagRun
    pg_build_failures: list[str] = dataclasses.field(default_factory=list)
    spark_build_failures: list[str] = dataclasses.field(default_factory=list)
    spark_unit_test_failures: list[str] = dataclasses.field(default_factory=list)


def _invoke_dbt(args: list[str], settings: Settings, target: str) -> Any:
    """dbt in this process (dbt-spark's session method then reuses our SparkSession); dbt's result."""
    from dbt.cli.main import dbtRunner

    saved = dict(os.environ)
    os.environ.update(dbt_env(settings, target))
    try:
        return dbtRunner().invoke([*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(PROFILES_DIR)])
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _dbt_in_process(args: list[str], settings: Settings, target: str) -> list[str]:
    """dbt in this process; the nodes that failed."""
    result = _invoke_dbt(args, settings, target)
    if result.exception is not None:
        return [f"dbt crashed: {result.exception}"]
    runs: Any = result.result or []
    passed = ("success", "pass", "no-op")  # no-op: the dashboard exposure
    return [f"{r.node.unique_id}: {r.status} {r.message}" for r in runs if str(r.status) not in passed]


@pytest.fixture(scope="module")
def staged(
    own_database: Callable[[str], Settings],
    kafka: Settings,
    small_sample: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Warehouses]:
    """The same input in both engines. Spark: lending_elt_spark in local mode (it stages the file
    and the stream sample it replays to a fresh topic, runs the Python steps, `dbt build` and the
    GX gates); PostgreSQL: the file landed, that topic consumed, the Python steps run."""
    postgres = own_database("spark")  # counts and marts must see this input only
    from lendflow.services import spark as spark_service
    from python_steps import run as pg_python_steps
    from streaming.consumer import consume

    work = tmp_path_factory.mktemp("spark")
    spark_settings = dataclasses.replace(postgres, spark_home_override=work / "spark-home", spark_target="spark")
    topic = f"lendflow-spark-{uuid.uuid4().hex[:8]}"
    loans_file = small_sample / "loans.csv"

    dag_run = run_lending_elt_spark(spark_settings, small_sample, topic)
    land_file(loans_file, postgres, progress=False)
    consume(postgres, topic, group=f"g-{topic}", progress=False, idle_timeout=30)
    pg_python_steps.run(postgres)

    spark = spark_service.session(spark_settings)  # the DAG's process has ended: its Derby lock is free
    yield Warehouses(postgres, spark_settings, spark, topic, loans_file, work, dag_run)
    spark.stop()


@pytest.fixture(scope="module")
def warehouses(staged: Warehouses) -> Warehouses:
    """One `dbt build` per engine on the staged input (failures recorded, not raised): the DAG's
    on Spark (its unit tests too), one here on PostgreSQL."""
    work = staged.work
    try:
        run_dbt(["build", "--exclude", "test_type:unit", "--target-path", str(work / "target-pg"),
                 "--log-path", str(work / "logs-pg")], staged.pg)  # fmt: skip
    except DbtError as error:
        staged.pg_build_failures = [f"{error} (see {work / 'logs-pg'})"]
    staged.spark_build_failures = dbt_build_failures(staged.dag_run)
    staged.spark_unit_test_failures = unit_test_failures(staged.dag_run)
    return staged


def _spark_rows(spark: Any, table: str) -> list[dict[str, Any]]:
    return [row.asDict() for row in spark.table(table).collect()]


# --- the DAG, and Spark staging -------------------------------------------------
def test_lending_elt_spark_builds_every_model_in_local_mode(staged: Warehouses, small_sample: Path) -> None:
    assert_every_model_ran_and_the_marts_hold_the_loans(staged.dag_run, small_sample)


def test_spark_staging_counts_equal_postgres(staged: Warehouses) -> None:
    w = staged
    pg_loans = pg_rows(w.pg, "select _file_sha256 as sha, count(*) as n from raw.loans group by 1")
    spark_loans = w.spark.sql("select _file_sha256 as sha, count(*) as n from raw.loans group by 1").collect()
    assert {r["sha"]: r["n"] for r in pg_loans} == {r["sha"]: r["n"] for r in spark_loans}
    assert sum(r["n"] for r in pg_loans) == 2_000

    pg_events = pg_rows(w.pg, f"select count(*) as n from raw.loan_events where topic = '{w.topic}'")[0]["n"]
    spark_events = w.spark.sql(f"select count(*) from raw.loan_events where topic = '{w.topic}'").collect()[0][0]
    assert spark_events == pg_events > 500  # 500 loans + the EOF markers


def test_spark_staging_keeps_text_untouched_and_lands_once(staged: Warehouses) -> None:
    from spark_jobs import staging

    w = staged
    query = "select `Loan Id` as id, `Term` as term, `Annual Inc` as inc from raw.loans"
    in_spark = {r["id"]: (r["term"], r["inc"]) for r in w.spark.sql(query).collect()}
    in_pg = {r["id"]: (r["term"], r["inc"]) for r in pg_rows(w.pg, query.replace("`", '"'))}
    assert in_spark == in_pg  # " 36 months" keeps its leading space on both

    again = staging.stage_file(w.spark, w.loans_file, w.spark_settings, progress=False)
    assert again.skipped
    assert staging.stage_topic(w.spark, w.spark_settings, w.topic).rows_landed == 0
    assert w.spark.sql("select count(*) from raw.loans").collect()[0][0] == 2_000


# --- dbt on Spark and parity ---------------------------------------------------
def test_dbt_build_on_the_spark_target_passes(warehouses: Warehouses) -> None:
    assert warehouses.spark_build_failures == []


def test_dbt_unit_tests_pass_on_the_spark_target(warehouses: Warehouses) -> None:
    # A `format: sql` fixture is compiled as it is written: engine-neutral SQL only
    # ({{ adapter.quote('Customer Id') }} rather than "Customer Id", {{ dbt.type_timestamp() }}).
    assert warehouses.spark_unit_test_failures == []


def _mart_differences(w: Warehouses) -> dict[str, list[str]]:
    """Every mart on PostgreSQL and on local mode's Spark, row by row."""
    return marts_differ(w.pg, w.dag_run.run_dir / "manifest.json", lambda table: _spark_rows(w.spark, table))


def test_every_mart_is_equal_on_both_engines_row_by_row(warehouses: Warehouses) -> None:
    assert warehouses.pg_build_failures == [], "the postgres build must pass before the engines can be compared"
    assert _mart_differences(warehouses) == {}


def _compiled_expression(jinja: str, settings: Settings, target: str, work: Path) -> str:
    """A Jinja expression of the project (its macros) compiled for one target, in this process."""
    args = ["compile", "--inline", jinja, "--quiet", "--target-path", str(work / f"target-inline-{target}")]
    result = _invoke_dbt(args, settings, target)
    assert result.success, result.exception
    return str(result.result.results[0].node.compiled_code).strip()


def _plain(value: float) -> str:
    """The text float_to_text promises: Python's shortest round-trip digits, in plain notation."""
    if math.isnan(value) or math.isinf(value):
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(value)]
    text = format(Decimal(repr(value)), "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text == "-0" else text


def test_a_double_is_written_as_the_same_text_on_both_engines(warehouses: Warehouses) -> None:
    """float_to_text (lookup_values' numbers): '-14000' on both engines, not '-14000.0' on Spark;
    the fewest digits that read back as the same double, in plain notation. Exact below 2**53."""
    w = warehouses
    rng = random.Random(5)
    values = [-14000.0, 1e7, 1.5e-5, 0.1, 1 / 3, 0.22377072266831383, 456910.625, -0.0, 0.0, 1e-3, 9.999e-4]
    values += [5e-324, 1e15, 2.0**53 - 1, 123456789.125, float("nan"), float("inf"), float("-inf")]
    values += [rng.uniform(-1, 1) * 10.0 ** rng.randint(-20, 15) for _ in range(2000)]
    values += [round(rng.uniform(-1e6, 1e6), rng.randint(0, 6)) for _ in range(500)]
    pg_sql = _compiled_expression("{{ float_to_text('x') }}", w.pg, "postgres", w.work)
    spark_sql = _compiled_expression("{{ float_to_text('x') }}", w.spark_settings, "spark", w.work)

    with psycopg.connect(w.pg.pg_dsn) as conn:
        pg = dict(
            conn.execute(
                f"select i, {pg_sql} from unnest(%s::int[], %s::float8[]) as t(i, x)",
                (list(range(len(values))), values),
            ).fetchall()
        )
    frame = w.spark.createDataFrame(list(enumerate(values)), "i int, x double")
    spark = {r["i"]: r["t"] for r in frame.selectExpr("i", f"{spark_sql} as t").collect()}

    expected = {i: _plain(v) for i, v in enumerate(values)}
    assert {i: t for i, t in pg.items() if t != expected[i]} == {}
    assert {i: t for i, t in spark.items() if t != expected[i]} == {}


# --- the questions, two ways -------------------------------------------------
def test_questions_in_spark_sql_and_dataframe_api_agree_with_each_other_and_the_marts(
    warehouses: Warehouses,
) -> None:
    from spark_jobs.questions import two_way_answers

    w = warehouses
    answers = two_way_answers(w.spark)
    assert [a.question.number for a in answers] == [1, 2, 3, 4, 5]
    for answer in answers:
        q = answer.question
        assert answer.differences == [], q.text
        assert len(answer.by_sql) > 0, q.text
        for engine, mart_rows in (
            ("spark", _spark_rows(w.spark, f"marts.{q.mart}")),
            ("postgres", pg_rows(w.pg, f"select * from marts.{q.mart}")),
        ):
            columns = [c for c in answer.by_sql.columns if c not in q.keys]
            found = row_differences(answer.by_sql.to_dict("records"), mart_rows, q.keys, columns)
            assert found == [], f"question {q.number} vs {engine} {q.mart}: {found}"


# --- Spark ML encoders, export -------------------------------------------------
def test_ml_encoders_equal_the_dbt_lookup_values(warehouses: Warehouses) -> None:
    from spark_jobs import encoders

    w = warehouses
    model = encoders.fit_pipeline(w.spark)
    ml_lookup = {
        (r["column_name"], r["original_value"]): r["encoded_value"]
        for r in encoders.lookup_table(w.spark, model).collect()
    }
    dbt_lookup = {
        (r["column_name"], r["original_value"]): r["encoded_value"]
        for r in _spark_rows(w.spark, "marts.lookup_values")
        if r["kind"] == "encoding"
    }
    assert ml_lookup == dbt_lookup

    encoded = encoders.encode(model, w.spark.table("marts.fct_loans"))
    mismatched = encoded.where(
        "addr_state_code_ml <> addr_state_code or purpose_code_ml <> purpose_code"
        " or letter_grade_ml <> letter_grade or emp_length_years_ml <> emp_length_years"
    ).count()
    assert mismatched == 0


def test_cleaned_and_lookup_tables_saved_to_parquet_and_loaded_over_jdbc(
    warehouses: Warehouses, tmp_path: Path
) -> None:
    from spark_jobs.export import JDBC_SCHEMA, export

    w = warehouses
    report = export(w.spark, w.spark_settings, tmp_path, jdbc=True)
    loans = w.spark.table("marts.fct_loans").count()
    assert report.cleaned_rows == loans
    assert (tmp_path / "cleaned_loans.parquet").is_dir()
    counts = pg_rows(
        w.pg,
        f"select (select count(*) from {JDBC_SCHEMA}.cleaned_loans) as cleaned,"
        f" (select count(*) from {JDBC_SCHEMA}.lookup_values) as lookup",
    )[0]
    assert (counts["cleaned"], counts["lookup"]) == (loans, report.lookup_rows)


# --- an incremental run with newer records and dirt (last: it adds to the warehouses) ------------
def _quarantine_reasons_pg(settings: Settings, source_file: str) -> dict[str, str]:
    rows = pg_rows(
        settings,
        "select record_ref, quarantine_reason from marts.fct_quarantined_loans"
        f" where record_ref like 'file:{source_file}#%'",
    )
    return {r["record_ref"]: r["quarantine_reason"] for r in rows}


def _quarantine_reasons_spark(spark: Any, source_file: str) -> dict[str, str]:
    rows = spark.sql(
        "select record_ref, quarantine_reason from marts.fct_quarantined_loans"
        f" where record_ref like 'file:{source_file}#%'"
    ).collect()
    return {r["record_ref"]: r["quarantine_reason"] for r in rows}


# Dirt the engines once read apart, in every batch: each batch is a Spark build (about a minute).
KNOWN_DIRT = [
    dirtied(CLEAN[0], Annual_Inc="1e309"),
    dirtied(CLEAN[1], Addr_State="ıl"),
    dirtied(CLEAN[2], Term="0"),
    dirtied(CLEAN[3], Issue_Date="14 August 2014\n"),
    dirtied(CLEAN[4], Int_Rate="1e-400"),
]


@hypothesis.settings(max_examples=int(os.environ.get("LENDFLOW_SPARK_DIRTY_EXAMPLES", "1")), deadline=None)
@hypothesis.given(rows=st.lists(dirty_rows(), min_size=40, max_size=60))
def test_an_incremental_run_merges_newer_records_and_quarantines_dirt_alike_on_both_engines(
    warehouses: Warehouses, tmp_path_factory: pytest.TempPathFactory, rows: list[DirtyRow]
) -> None:
    """One incremental run on both engines (each is a build: a minute on Spark) of two new files:
    the Parquet copy of the sample, a newer record of every loan, which the incremental models
    merge (Spark: merge by rewrite); and generated dirt, which both quarantine alike: the same
    records for the same reasons. The marts stay equal row by row."""
    from spark_jobs import staging

    w = warehouses
    assert w.pg_build_failures == [] and w.spark_build_failures == []
    newer = w.loans_file.with_suffix(".parquet")  # landed once: a later example skips it on both
    rows = [row.with_loan_id(next(_dirty_loan_ids)) for row in [*KNOWN_DIRT, *rows]]
    dirty = write_batch(rows, tmp_path_factory.mktemp("dirty") / "dirty.csv")
    for path in (newer, dirty):
        land_file(path, w.pg, progress=False)
        staging.stage_file(w.spark, path, w.spark_settings, progress=False)
    dirs = ["--target-path", str(w.work / "target-{}"), "--log-path", str(w.work / "logs-{}")]
    run_dbt(["run", *[d.format("pg") for d in dirs]], w.pg)
    assert _dbt_in_process(["run", *[d.format("spark") for d in dirs]], w.spark_settings, "spark") == []

    # The batch loans of the sample the stream did not update now come from the newer (Parquet) file.
    sources = {
        r[0]: r[1]
        for r in w.spark.sql(
            "select record_ref like concat('%', 'loans.parquet', '%'), count(*) from marts.fct_loans"
            f" where record_source = 'batch' and record_ref not like '%{dirty.name}%' group by 1"
        ).collect()
    }
    assert sources.get(True, 0) > 0 and sources.get(False, 0) == 0, sources
    assert _quarantine_reasons_spark(w.spark, str(dirty)) == _quarantine_reasons_pg(w.pg, str(dirty))
    assert _mart_differences(w) == {}
