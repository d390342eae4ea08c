"""The warehouse on the local Spark cluster, built as a user builds it there: a real run of
`lending_elt_spark` on the spark_thrift target (Spark staging and the Python steps submitted to
the cluster, dbt through its Thrift server, GX on Spark DataFrames), and PostgreSQL built from the
same file and topic; every mart equal on both, row by row. Then the real sample, staged and built
on both.

The cluster is the suite's (tests/conftest.py's local_cluster); this module is the first of the
Spark lane to use it, and test_spark_cluster.py, which stops it, the last. The warehouse in local
mode is test_spark.py's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pyhive import hive

from ingestion.land import land_file
from lendflow import settings as config
from lendflow.dbt import DbtError, run_dbt
from lendflow.settings import DBT_PROJECT_DIR, Settings
from tests.parity import TableReader, marts_differ, pg_rows
from tests.spark_dag import SparkDagRun, assert_every_model_ran_and_the_marts_hold_the_loans, run_lending_elt_spark

pytestmark = [pytest.mark.airflow, pytest.mark.spark, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


@dataclass
class ClusterWarehouse:
    cluster: Settings  # settings that send Spark work to the cluster
    run: SparkDagRun  # lending_elt_spark's run there
    pg: Settings  # PostgreSQL, built from the same file and topic
    topic: str
    pg_build_failures: list[str] = field(default_factory=list)


def _lendflow(args: list[str], settings: Settings) -> str:
    """`lendflow <args>` in a process of its own; what it printed (rich prints to stderr), or the
    test fails with it."""
    command = [str(Path(sys.executable).parent / "lendflow"), *args]
    env = {**config.child_environment(settings), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done.stdout + done.stderr


def _thrift(settings: Settings) -> Any:
    """A connection to the cluster's Thrift server (what dbt's spark_thrift target dials)."""
    return hive.connect(host=settings.spark_thrift_host, port=settings.spark_thrift_port, username="lendflow")


def _empty_catalog(settings: Settings) -> None:
    """The suite's cluster as new: no database but `default`, no streaming checkpoint."""
    with _thrift(settings) as conn:
        cursor = conn.cursor()
        cursor.execute("show databases")
        for (name,) in cursor.fetchall():
            if name != "default":
                cursor.execute(f"drop database `{name}` cascade")
    shutil.rmtree(settings.spark_checkpoints_dir, ignore_errors=True)


def _thrift_rows(settings: Settings, query: str) -> list[dict[str, Any]]:
    """Rows through the cluster's Thrift server; dates (sent as text) read back as dates."""
    with _thrift(settings) as conn:
        cursor = conn.cursor()
        cursor.execute(query)
        names = [d[0] for d in cursor.description]
        dates = {d[0] for d in cursor.description if d[1] == "DATE_TYPE"}
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        for name in dates:
            row[name] = None if row[name] is None else date.fromisoformat(row[name])
    return rows


def _thrift_count(settings: Settings, query: str) -> int:
    return int(_thrift_rows(settings, query)[0]["n"])


def _pg_count(settings: Settings, query: str) -> int:
    return int(pg_rows(settings, query)[0]["n"])


def _thrift_table(settings: Settings) -> TableReader:
    """A reader of whole tables through the cluster's Thrift server, for marts_differ."""
    return lambda table: _thrift_rows(settings, f"select * from {table}")


def _build_postgres(pg: Settings, work: Path) -> list[str]:
    """`dbt build` on PostgreSQL (dbt's artifacts in `work`, not the project's); what failed."""
    dirs = ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    try:
        run_dbt(["build", "--exclude", "test_type:unit", *dirs], pg)
    except DbtError as error:
        return [f"{error} (see {work / 'logs'})"]
    return []


@pytest.fixture(scope="module")
def cluster_warehouse(
    local_cluster: Settings,
    kafka: Settings,
    small_sample: Path,
    own_database: Callable[[str], Settings],
    tmp_path_factory: pytest.TempPathFactory,
) -> ClusterWarehouse:
    """lending_elt_spark on the cluster (the sample's loans.csv, its stream.csv replayed to a topic
    of its own); then PostgreSQL from the same file and topic: landed, consumed, the Python steps,
    `dbt build`."""
    from python_steps import run as pg_python_steps
    from streaming.consumer import consume

    _empty_catalog(local_cluster)
    topic = f"lendflow-cluster-{uuid.uuid4().hex[:8]}"
    run = run_lending_elt_spark(local_cluster, small_sample, topic)
    pg = own_database("cluster")  # counts and marts must see this input only
    land_file(small_sample / "loans.csv", pg, progress=False)
    consume(pg, topic, group=f"g-{topic}", progress=False, idle_timeout=30)
    pg_python_steps.run(pg)
    failures = _build_postgres(pg, tmp_path_factory.mktemp("cluster-pg"))
    return ClusterWarehouse(local_cluster, run, pg, topic, failures)


def test_lending_elt_spark_builds_every_model_on_the_cluster(
    cluster_warehouse: ClusterWarehouse, small_sample: Path
) -> None:
    assert_every_model_ran_and_the_marts_hold_the_loans(cluster_warehouse.run, small_sample)


def test_the_cluster_stages_every_row_once_as_postgres_lands_it(cluster_warehouse: ClusterWarehouse) -> None:
    c = cluster_warehouse
    landing = c.run.artifact("landing.json")
    assert [(f["rows_read"], f["rows_landed"], f["rows_rejected"]) for f in landing] == [(2_000, 2_000, 0)]
    assert _thrift_count(c.cluster, "select count(*) as n from raw.loans") == 2_000
    assert _pg_count(c.pg, "select count(*) as n from raw.loans") == 2_000

    events = f"select count(*) as n from raw.loan_events where topic = '{c.topic}'"
    staged = _thrift_count(c.cluster, events)
    assert staged == c.run.artifact("stream.json")["rows_landed"] == _pg_count(c.pg, events) > 500  # + EOF markers

    titles = "select count(*) as n from python_steps.emp_title_map"
    assert _thrift_count(c.cluster, titles) == _pg_count(c.pg, titles) > 0


def test_every_mart_on_the_cluster_equals_postgres_row_by_row(cluster_warehouse: ClusterWarehouse) -> None:
    c = cluster_warehouse
    assert c.pg_build_failures == [], "the postgres build must pass before the engines can be compared"
    assert marts_differ(c.pg, c.run.run_dir / "manifest.json", _thrift_table(c.cluster)) == {}


def test_questions_and_ml_encoders_run_on_the_cluster(cluster_warehouse: ClusterWarehouse, tmp_path: Path) -> None:
    """The questions two ways and the encoders, submitted to the cluster: the answers of both
    APIs agree (the command fails otherwise), and every ML code equals dbt's."""
    c = cluster_warehouse
    _lendflow(["spark-questions", "--target", "spark_thrift", "--out", str(tmp_path / "answers")], c.cluster)
    assert len(list((tmp_path / "answers").glob("q*_sql.csv"))) == 5
    _lendflow(["spark-export", str(tmp_path / "export"), "--target", "spark_thrift"], c.cluster)
    cleaned = pq.read_table(tmp_path / "export" / "cleaned_loans.parquet").to_pandas()
    assert len(cleaned) == _pg_count(c.pg, "select count(*) as n from marts.fct_loans")
    for ml, dbt in (
        ("addr_state_code_ml", "addr_state_code"),
        ("purpose_code_ml", "purpose_code"),
        ("letter_grade_ml", "letter_grade"),
        ("emp_length_years_ml", "emp_length_years"),
    ):
        differ = cleaned[(cleaned[ml] != cleaned[dbt]) & cleaned[dbt].notna()]
        assert differ.empty, (ml, differ[[ml, dbt]].head())


# --- the real sample (last: it empties the cluster's catalog) ------------------------------------
def _real_sample() -> Path | None:
    """The real loans file: LENDFLOW_REAL_SAMPLE, else ../shared/data/fintech_data_*.parquet
    beside the clone (where this project's data description keeps it)."""
    named = os.environ.get("LENDFLOW_REAL_SAMPLE")
    if named:
        return Path(named)
    found = sorted((DBT_PROJECT_DIR.parent.parent / "shared" / "data").glob("fintech_data_*.parquet"))
    return found[0] if found else None


def _staging_counts(output: str) -> tuple[int, int, int]:
    """(read, staged, rejected) from what `lendflow spark-stage` printed."""
    found = re.search(r"read ([\d,]+), staged ([\d,]+), rejected ([\d,]+)", " ".join(output.split()))
    assert found, output[-3000:]
    read, staged, rejected = (int(n.replace(",", "")) for n in found.groups())
    return read, staged, rejected


def test_every_mart_of_the_real_sample_on_the_cluster_equals_postgres(
    own_database: Callable[[str], Settings], local_cluster: Settings, tmp_path: Path
) -> None:
    """The real sample, with the real world's dirt, built on PostgreSQL and on the cluster (staged
    by `lendflow spark-stage --target spark_thrift`, built through the Thrift server): every row of
    the file landed or rejected on both, the same loans staged, and every mart equal row by row.

    The data tests run on PostgreSQL's build only: marts equal row by row pass the same tests, and
    the DAG's build above runs every test on the cluster (~0.65 s a test through Thrift)."""
    from python_steps import run as pg_python_steps

    sample = _real_sample()
    if sample is None:
        pytest.skip("no real sample here: LENDFLOW_REAL_SAMPLE names it, or ../shared/data holds it")
    rows = pq.read_metadata(sample).num_rows
    pg, cluster = own_database("real"), local_cluster
    landed = land_file(sample, pg, progress=False)
    assert landed.rows_read == rows == landed.rows_landed + landed.rows_rejected
    pg_python_steps.run(pg)
    _empty_catalog(cluster)
    read, staged, rejected = _staging_counts(
        _lendflow(["spark-stage", str(sample), "--no-stream", "--target", "spark_thrift"], cluster)
    )
    assert (read, staged, rejected) == (rows, landed.rows_landed, landed.rows_rejected)
    assert _build_postgres(pg, tmp_path / "pg") == []
    dirs = ["--target-path", str(tmp_path / "target-cluster"), "--log-path", str(tmp_path / "logs-cluster")]
    run_dbt(["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test", *dirs],
            cluster, target="spark_thrift")  # fmt: skip

    loans = _pg_count(pg, "select count(*) as n from raw.loans")
    assert _thrift_count(cluster, "select count(*) as n from raw.loans") == loans == landed.rows_landed

    assert marts_differ(pg, tmp_path / "target-cluster" / "manifest.json", _thrift_table(cluster)) == {}
