"""The bodies of the pipeline's non-dbt tasks, as plain functions of (settings, run folder, ...).

The DAG files wrap them in @task; they know nothing of Airflow, so the CLI and tests can call
them too. Each reads its inputs from and writes its report to the run folder.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lendflow.settings import SPARK_TARGETS, Settings
from orchestration.artifacts import describe_inputs, write_json
from orchestration.quality.scope import RunBatches

log = logging.getLogger(__name__)


def prepare_run(
    settings: Settings,
    run_dir: Path,
    *,
    dag_id: str,
    run_id: str,
    target: str,
    inputs: list[Path],
    manifest: Path,
    services: list[str],
) -> dict[str, Any]:
    """Bring the services up (idempotent: also the database, its roles and grants), create the run
    folder, and record what goes in (files with checksums, the manifest the DAG rendered from)."""
    import shutil

    from lendflow.services import local

    local.up(settings, services)

    missing = [str(path) for path in inputs if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"input files not found: {missing}")
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "dag_id": dag_id,
        "run_id": run_id,
        "target": target,
        "warehouse_db": settings.pg_db,
        "services": services,
        "inputs": describe_inputs(inputs),
    }
    write_json(run_dir / "run.json", record)
    shutil.copy2(manifest, run_dir / "manifest.json")
    return record


def land_batch_files(settings: Settings, run_dir: Path, inputs: list[Path]) -> list[dict[str, Any]]:
    """Land every batch file into raw.loans (exactly once: a file landed before is skipped)."""
    from ingestion.land import land_file

    reports = []
    for path in inputs:
        report = land_file(path, settings, progress=False)
        log.info(report.summary())
        reports.append(asdict(report))
    write_json(run_dir / "landing.json", reports)
    return reports


def replay_stream(
    settings: Settings, run_dir: Path, stream_file: Path, topic: str, *, once: bool = True
) -> dict[str, Any]:
    """Send a stream sample to the topic, ending with EOF (stands in for the live producer).

    once: only while nothing of the topic has landed in the PostgreSQL warehouse (the rule
    `lendflow run --direct` follows too), so a second run replays nothing and lands nothing twice.
    """
    from orchestration.pipeline import topic_has_landed
    from streaming.producer import produce

    if once and topic_has_landed(settings, topic):
        log.info("%s has landed in this warehouse before: the stream sample is not replayed again", topic)
        payload: dict[str, Any] = {"file": str(stream_file), "skipped": "the topic has landed before"}
    else:
        payload = {"file": str(stream_file), **asdict(produce(stream_file, settings, topic, progress=False))}
    write_json(run_dir / "stream_produced.json", payload)
    return payload


def consume_stream(settings: Settings, run_dir: Path, topic: str, idle_timeout: float) -> dict[str, Any]:
    """Land the topic into raw.loan_events until every partition has said EOF (or went idle);
    without a replay in this run, until the topic is read to its end.

    The report names the offsets landed meanwhile (per partition): the run's stream batch,
    which the raw gate judges.
    """
    from orchestration.artifacts import read_json
    from orchestration.quality.scope import landed_offset_ranges
    from streaming.consumer import consume

    produced = run_dir / "stream_produced.json"
    replayed = not (produced.is_file() and read_json(produced).get("skipped"))
    before = _landed_offsets(settings, topic)
    # With no replay there is no EOF to wait for: land what the topic holds now.
    report = consume(settings, topic, idle_timeout=idle_timeout, caught_up=not replayed, progress=False)
    payload = asdict(report)
    payload["eof_partitions"] = sorted(report.eof_partitions)
    payload["landed_offsets"] = landed_offset_ranges(before, _landed_offsets(settings, topic))
    write_json(run_dir / "stream.json", payload)
    if replayed and report.stopped_by != "eof":
        log.warning("the stream stopped by %s, not EOF: the producer may not have finished", report.stopped_by)
    return payload


LANDED_OFFSETS_SQL = "select kafka_partition, max(kafka_offset) from raw.loan_events where topic = {} group by 1"


def _landed_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """The highest offset landed per partition of topic in PostgreSQL's raw.loan_events (read as the loader)."""
    from psycopg import sql

    from lendflow.db import connect

    with connect(settings, role="loader") as conn:
        # Two statements: one naming a missing table fails at parse time, whatever guards it.
        if conn.execute("select to_regclass('raw.loan_events') is null").fetchone() == (True,):
            return {}
        rows = conn.execute(sql.SQL(LANDED_OFFSETS_SQL).format(sql.Literal(topic))).fetchall()
    return {int(partition): int(offset) for partition, offset in rows}


# --- the Spark targets: the same steps on Spark staging (one Spark session per process, in local
# mode or on the cluster: settings.spark_target, which the DAG sets from its target) ---
def spark_stage_batch_files(settings: Settings, run_dir: Path, inputs: list[Path]) -> list[dict[str, Any]]:
    """Land every batch file into Spark staging's raw tables (exactly once, like land_batch_files)."""
    from lendflow.services.spark import session
    from spark_jobs.staging import stage_file

    spark = session(settings)
    reports = []
    for path in inputs:
        report = stage_file(spark, path, settings, progress=False)
        log.info(report.summary())
        reports.append(asdict(report))
    write_json(run_dir / "landing.json", reports)
    return reports


def spark_stage_stream(settings: Settings, run_dir: Path, topic: str) -> dict[str, Any]:
    """Land what the topic holds into Spark staging's raw.loan_events (available-now streaming)."""
    from lendflow.services.spark import session
    from lendflow.spark_raw_tables import ensure_raw_tables
    from orchestration.quality.scope import landed_offset_ranges
    from spark_jobs.staging import stage_topic

    spark = session(settings)
    ensure_raw_tables(spark)

    def landed_offsets() -> dict[int, int]:
        query = LANDED_OFFSETS_SQL.format("'" + topic.replace("'", "") + "'")
        return {int(row[0]): int(row[1]) for row in spark.sql(query).collect()}

    before = landed_offsets()
    report = stage_topic(spark, settings, topic)
    payload = {
        **asdict(report),
        "rows_landed": report.rows_landed,
        "landed_offsets": landed_offset_ranges(before, landed_offsets()),
    }
    write_json(run_dir / "stream.json", payload)
    return payload


def spark_python_steps(settings: Settings, run_dir: Path) -> dict[str, Any]:
    from lendflow.services.spark import session
    from python_steps.spark import run

    report = run(session(settings))
    log.info(report.summary())
    write_json(run_dir / "python_steps.json", asdict(report))
    return {"summary": report.summary()}


def run_batches(run_dir: Path) -> RunBatches:
    """The batches this run landed, from its reports (a report missing: nothing of that kind)."""
    from orchestration.artifacts import read_json
    from orchestration.quality.scope import run_batches as from_reports

    landing, stream = run_dir / "landing.json", run_dir / "stream.json"
    return from_reports(
        read_json(landing) if landing.is_file() else [], read_json(stream) if stream.is_file() else None
    )


def quality_gate(settings: Settings, run_dir: Path, name: str, target: str, *, with_stream: bool = False) -> str:
    """Run the named gate ('raw' or 'marts') on this run's batches, as GX checkpoints on the target.

    On PostgreSQL it reads as the gate role (select on raw, intermediate and marts, nothing
    more). Raises QualityGateFailed for what no row rule absorbs (suites.py: the gate policy).
    """
    from orchestration.quality.checkpoints import run_checkpoint
    from orchestration.quality.scope import batch_quarantines, quarantine_counts_query
    from orchestration.quality.suites import marts_suites, raw_suites

    batches = run_batches(run_dir)
    spark = None
    if target in SPARK_TARGETS:
        from lendflow.services.spark import session

        spark = session(settings.on_target(target))
    if name == "raw":
        suites = raw_suites(batches, with_stream)
    else:
        query = quarantine_counts_query(batches)
        if spark is not None:
            counts = [tuple(row) for row in spark.sql(query).collect()]
        else:
            from lendflow.db import connect

            with connect(settings, role="gate") as conn:
                counts = conn.execute(query).fetchall()  # type: ignore[arg-type]  # built from checked values
        suites = marts_suites(batch_quarantines(batches, counts), settings.max_quarantined_share)
    if spark is not None:
        return str(run_checkpoint(name, suites, run_dir, spark=spark))
    return str(run_checkpoint(name, suites, run_dir, dsn=settings.role_dsn("gate")))


def python_steps(settings: Settings, run_dir: Path, *, refit: bool) -> dict[str, Any]:
    """The steps SQL cannot do well (title clustering, fitted transforms): python_steps.* tables for dbt.

    refit: fit everything anew, for a full-refresh build; otherwise keep the stored titles and
    lambdas and add only new titles (a loan already built keeps the values it was built with).
    """
    from python_steps.run import run

    report = run(settings, refit=refit)
    log.info(report.summary())
    payload = asdict(report)
    write_json(run_dir / "python_steps.json", payload)
    return {"summary": report.summary()}


def dbt_docs(settings: Settings, run_dir: Path, target: str) -> Path:
    """`dbt docs generate` into the run folder: the docs site of exactly what this run built.

    On Spark it runs in this process (dbtRunner), on the task's Spark session: a second process
    would start a second Spark on the same Derby metastore, which Derby refuses.
    """
    out = run_dir / "dbt_docs"
    args = ["docs", "generate", "--target-path", str(out)]
    if target == "spark":
        import os

        from dbt.cli.main import dbtRunner

        from lendflow.dbt import dbt_env
        from lendflow.settings import DBT_PROJECT_DIR, PROFILES_DIR

        os.environ.update(dbt_env(settings, target))
        result = dbtRunner().invoke(
            [*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(PROFILES_DIR), "--target", target]
        )
        if not result.success:
            raise RuntimeError(f"dbt docs generate failed on {target}: {result.exception}")
    else:
        from lendflow.dbt import run_dbt

        run_dbt(args, settings, target)
    return out / "index.html"


def check_dashboard(settings: Settings, run_dir: Path) -> dict[str, Any]:
    """The dashboard, built as it is served, answers its page and shows this run's loans.

    It reads through the read-only role, so this also proves the new marts are readable by it.
    A dashboard already serving on LENDFLOW_DASHBOARD_PORT is asked too (its cache follows the
    marts version by itself).
    """
    import urllib.request

    from dashboard.app import create_app
    from dashboard.data import MartsReader
    from lendflow.services.base import port_is_open

    reader = MartsReader.for_settings(settings)
    try:
        app = create_app(settings, reader)
        page = app.server.test_client().get("/")
        if page.status_code != 200:
            raise RuntimeError(f"the dashboard answered / with HTTP {page.status_code}")
        shown = int(reader.portfolio_totals().get("loans", -1))
    finally:
        reader.close()
    built = mart_row_counts(settings, ["marts.fct_loans"])["marts.fct_loans"]
    if shown != built:
        raise RuntimeError(f"the dashboard shows {shown:,} loans but marts.fct_loans holds {built:,}")
    report: dict[str, Any] = {"loans_shown": shown, "fct_loans_rows": built, "served_at": None}
    if port_is_open("127.0.0.1", settings.dashboard_port):
        url = f"http://127.0.0.1:{settings.dashboard_port}/"
        with urllib.request.urlopen(url, timeout=30) as response:
            if response.status != 200:
                raise RuntimeError(f"the served dashboard at {url} answered HTTP {response.status}")
        report["served_at"] = url
    write_json(run_dir / "dashboard_check.json", report)
    return report


def refresh_dashboard_cache(settings: Settings) -> dict[str, Any]:
    """After the marts change: read their new version as the dashboard does, and load its pages.

    The dashboard's cache is keyed on that version (dashboard.data), so reading it is what moves
    every serving process onto the new data; the page loads then prove the served app answers.
    """
    import urllib.request

    from dashboard.data import MartsReader
    from lendflow.services.base import port_is_open

    reader = MartsReader.for_settings(settings)
    try:
        version = reader.version()
        totals = reader.portfolio_totals()
    finally:
        reader.close()
    loaded = []
    base = f"http://127.0.0.1:{settings.dashboard_port}"
    if port_is_open("127.0.0.1", settings.dashboard_port):
        for path in ("/", "/answers", "/quality"):
            with urllib.request.urlopen(base + path, timeout=60) as response:
                loaded.append(f"{path} {response.status}")
    report = {"marts_version": version, "loans": totals.get("loans"), "pages_loaded": loaded}
    write_json(settings.runs_dir / "dashboard_cache" / f"{version}.json", report)
    return report


def mart_row_counts(settings: Settings, relations: list[str]) -> dict[str, int]:
    """Rows per mart relation ('schema.table'), for the summary."""
    from psycopg import sql

    from lendflow.db import connect

    counts = {}
    with connect(settings) as conn:
        for relation in relations:
            schema, table = relation.split(".", 1)
            query = sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            row = conn.execute(query).fetchone()
            counts[relation] = int(row[0]) if row else 0
    return counts


def spark_row_counts(settings: Settings, relations: list[str]) -> dict[str, int]:
    """Rows per mart relation in Spark's catalog (the session of this process, if one is running)."""
    from lendflow.services.spark import session

    spark = session(settings)
    return {relation: int(spark.table(relation).count()) for relation in relations}
