"""Real runs of the `lending_elt` DAG (Airflow 3 + Cosmos, `dag.test()`) against real PostgreSQL and Kafka.

Each run goes through the command a user types (`lendflow airflow-run`) in a subprocess with
its own warehouse database, then the test reads what the run left behind: summary.json (every
task's final state), the kept dbt run_results, the GX results, and the marts themselves.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from lendflow import settings as config
from lendflow.services.base import free_port, pid_alive, port_is_open, read_pid
from lendflow.settings import Settings
from tests.strategies import csv_loan_ids, sample_rows

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]


def _fresh_database(settings: Settings, name: str) -> dict[str, str]:
    admin_dsn = settings.pg_dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return {**os.environ, "LENDFLOW_PG_DB": name}


def _airflow_run(
    env: dict[str, str], *args: str, dag_id: str = "lending_elt"
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`lendflow airflow-run DAG_ID ARGS`; the process and the summary.json of the run it made."""
    return _lendflow(env, "airflow-run", dag_id, "--no-compile-first", *args, dag_id=dag_id)


def _lendflow(
    env: dict[str, str], *args: str, dag_id: str = "lending_elt"
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`lendflow ARGS`, a command that runs dag_id; the process and the summary.json of the run it made."""
    cmd = [str(Path(sys.executable).parent / "lendflow"), *args]
    runs = config.load().runs_dir / dag_id
    before = set(runs.glob("*/summary.json"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=1200)
    made = sorted(set(runs.glob("*/summary.json")) - before, key=lambda p: p.stat().st_mtime)
    assert made, f"the run wrote no summary.json\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc, json.loads(made[-1].read_text())


def _count(dsn: str, query: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture(scope="module")
def topic() -> str:
    """The run's own Kafka topic: what it consumes is exactly what it replayed."""
    return f"lendflow-airflow-test-{uuid.uuid4().hex[:8]}"


def _sample_args(sample: Path, topic: str) -> list[str]:
    return ["--input", str(sample / "loans.csv"), "--stream-file", str(sample / "stream.csv"), "--topic", topic]


@pytest.fixture(scope="module")
def elt_run(
    postgres: Settings, kafka: Settings, small_sample: Path, dbt_manifest: Path, topic: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], str]:
    db = f"{postgres.pg_db}_airflow_run"
    env = _fresh_database(postgres, db)
    proc, summary = _airflow_run(env, *_sample_args(small_sample, topic))
    dsn = postgres.pg_dsn.rsplit("/", 1)[0] + f"/{db}"
    return proc, summary, dsn


def test_every_model_task_and_test_task_succeeds(elt_run: Any, dbt_manifest: Path) -> None:
    proc, summary, _ = elt_run
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert summary["state"] == "success"
    states = summary["task_states"]
    assert {state for state in states.values()} == {"success"}, summary["failed_tasks"]
    manifest = json.loads(dbt_manifest.read_text())
    models = [n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    dbt_tasks = [task for task in states if task.startswith("dbt.")]
    for model in models:
        assert f"dbt.{model}.run" in states or f"dbt.{model}_run" in states, model
    assert sum(task.endswith(".test") for task in dbt_tasks) >= 5
    for step in ("land_batch_files", "consume_stream", "gate_raw", "python_steps", "gate_marts", "dbt_docs"):
        assert states[step] == "success", step


def test_every_dbt_test_and_unit_test_ran_and_passed(elt_run: Any, dbt_manifest: Path) -> None:
    _, summary, _ = elt_run
    from orchestration.artifacts import dbt_results

    results = dbt_results(Path(summary["run_dir"]))
    manifest = json.loads(dbt_manifest.read_text())
    data_tests = [uid for uid, n in manifest["nodes"].items() if n["resource_type"] == "test"]
    unit_tests = list(manifest.get("unit_tests", {}))
    assert data_tests
    not_run = [uid for uid in data_tests + unit_tests if uid not in results]
    assert not_run == [], f"never ran: {not_run}"
    # An exposure (the dashboard) is a node of `dbt build` that builds nothing: "no-op".
    built = {uid: status for uid, status in results.items() if not uid.startswith("exposure.")}
    failed = {uid: status for uid, status in built.items() if status not in {"success", "pass"}}
    assert failed == {}


def test_the_marts_hold_every_loan_of_the_batch_and_the_stream(elt_run: Any, small_sample: Path) -> None:
    _, summary, dsn = elt_run
    expected = csv_loan_ids(small_sample / "loans.csv") | csv_loan_ids(small_sample / "stream.csv")
    quarantined = _count(dsn, "select count(distinct loan_id) from marts.fct_quarantined_loans")
    loans = _count(dsn, "select count(*) from marts.fct_loans")
    assert loans == _count(dsn, "select count(distinct loan_id) from marts.fct_loans")
    assert loans + quarantined >= len(expected) * 0.99  # every loan is either served or quarantined
    assert loans >= len(expected) * 0.9
    assert _count(dsn, "select count(*) from marts.fct_loans where record_source = 'stream'") > 0
    assert summary["mart_rows"]["marts.fct_loans"] == loans
    assert _count(dsn, "select loans from marts.dash_portfolio_totals") == loans


def test_the_run_folder_holds_inputs_results_and_docs(elt_run: Any, small_sample: Path) -> None:
    _, summary, _ = elt_run
    run_dir = Path(summary["run_dir"])
    from ingestion.land import file_sha256

    record = json.loads((run_dir / "run.json").read_text())
    assert record["inputs"][0]["sha256"] == file_sha256(small_sample / "loans.csv")
    assert (run_dir / "manifest.json").is_file()
    assert json.loads((run_dir / "stream.json").read_text())["stopped_by"] == "eof"
    for gate in ("raw", "marts"):
        results = json.loads((run_dir / "gx" / "results" / f"{gate}.json").read_text())
        assert results and all(r["success"] for r in results)
    assert (run_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").is_file()
    assert (run_dir / "dbt_docs" / "index.html").is_file()
    assert (run_dir / "dbt_docs" / "catalog.json").is_file()
    assert json.loads((run_dir / "dashboard_check.json").read_text())["loans_shown"] > 0


def test_the_models_emitted_the_assets_the_cache_refresh_waits_for(elt_run: Any, settings: Settings) -> None:
    _, _, dsn = elt_run
    db = dsn.rsplit("/", 1)[1]
    from lendflow.services.airflow import metadata_db

    with sqlite3.connect(metadata_db(replace(settings, pg_db=db))) as conn:
        emitted = {uri for (uri,) in conn.execute("select a.uri from asset_event e join asset a on a.id = e.asset_id")}
        queued = {d for (d,) in conn.execute("select target_dag_id from asset_dag_run_queue")}
    assert any(uri.endswith(f"/{db}/marts/fct_loans") for uri in emitted), emitted
    assert "dashboard_cache_refresh" in queued


STAGES_SHOWN = (
    "prepare", "land", "stream", "raw gate", "python steps", "dbt models", "marts gate", "docs", "dashboard check",
)  # fmt: skip


def _assert_airflow_log_kept_off_the_terminal(run_dir: Path, output: str) -> None:
    """A person reads a short view; Airflow's ~1,800 lines of its own log are in the run folder."""
    assert len(output.splitlines()) < 80, output
    assert "[DAG TEST]" not in output
    log = (run_dir / "airflow.log").read_text()
    assert "[DAG TEST] running task" in log
    assert len(log.splitlines()) > 500


@pytest.mark.timeout(1800)
def test_the_run_after_a_failed_one_succeeds_and_serves_its_loans(
    postgres: Settings, small_sample: Path, dbt_manifest: Path, tmp_path: Path
) -> None:
    """Run 1's file has a third of its rates in percent: dbt quarantines those records and the marts
    gate fails the run, naming the file. Run 2, a clean file of other loans on the same warehouse,
    succeeds: the dirty batch stays in raw (the loader may not delete) but the gates judge only each
    run's own batches; the incremental build keeps the titles and lambdas run 1's loans were built
    with (the Python steps refit only for a full refresh), so lookup_values still reverses them."""
    dirty = sample_rows(small_sample, tmp_path / "dirty.csv", 0, 600, percent_every=3)
    clean = sample_rows(small_sample, tmp_path / "clean.csv", 600, 1200)
    db = f"{postgres.pg_db}_airflow_after_failed"
    env = _fresh_database(postgres, db)
    dsn = postgres.pg_dsn.rsplit("/", 1)[0] + f"/{db}"

    # `lendflow run` (what `make run` runs): a line per stage, the failure in full, Airflow's own
    # log in the run folder rather than on the terminal.
    failed, summary = _lendflow(env, "run", "--input", str(dirty))
    assert failed.returncode != 0
    states = summary["task_states"]
    assert states["gate_raw"] == "success"  # the rates in percent are reported there, not fatal
    assert states["gate_marts"] == "failed"
    assert states["dbt_docs"] == "upstream_failed"
    output = failed.stdout + failed.stderr
    assert "✗ gate_marts failed" in output
    assert "quarantined_share" in output and "dirty.csv" in output and "int_rate_out_of_range" in output
    _assert_airflow_log_kept_off_the_terminal(Path(summary["run_dir"]), output)
    raw = json.loads((Path(summary["run_dir"]) / "gx" / "results" / "raw.json").read_text())
    reported = [r for item in raw for r in item["results"] if not r["success"]]
    assert {r["expectation_config"]["severity"] for r in reported} == {"warning"}

    passed, summary = _lendflow(env, "run", "--input", str(clean))
    assert passed.returncode == 0, passed.stderr[-5000:]
    assert summary["state"] == "success"
    output = passed.stdout + passed.stderr
    for stage in STAGES_SHOWN:
        assert f"✓ {stage} " in output, output
    assert f"{len(summary['task_states'])} tasks succeeded" in output
    _assert_airflow_log_kept_off_the_terminal(Path(summary["run_dir"]), output)
    served = f"select count(*) from marts.fct_loans where loan_id = any(array{sorted(csv_loan_ids(clean))}::bigint[])"
    assert _count(dsn, served) >= len(csv_loan_ids(clean)) * 0.9
    assert _count(dsn, "select count(*) from marts.fct_loans where int_rate > 1") == 0


DEFAULT_LOGIN = "admin"  # admin/admin: the login a stock Airflow install is often left with


def _http(url: str, body: dict[str, str] | None = None, token: str | None = None) -> tuple[int, str]:
    """(status, text) of a GET, or of a JSON POST when body is given; HTTP errors are answers too."""
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_airflow_ui_shows_the_run_behind_a_generated_login_and_down_stops_it(
    elt_run: Any, settings: Settings, tmp_path: Path
) -> None:
    """`lendflow up -s airflow` serves the API server and UI over the metadata DB dag.test() wrote.

    In a home of its own (its pid file, its port, its secrets), over a copy of the run's metadata DB.
    """
    _, summary, dsn = elt_run
    db = dsn.rsplit("/", 1)[1]
    from lendflow.services.airflow import metadata_db

    home = tmp_path / "home"
    port = free_port()
    env = {
        **os.environ,
        "LENDFLOW_HOME": str(home),
        "LENDFLOW_PG_DB": db,
        "LENDFLOW_AIRFLOW_PORT": str(port),
        # Nothing of the shared services is in this home; other ports keep `down` away from them anyway.
        "LENDFLOW_PG_PORT": str(free_port()),
        "LENDFLOW_KAFKA_PORT": str(free_port()),
    }
    own = replace(settings, home=home, pg_db=db, airflow_port=port)
    copy = metadata_db(own)
    copy.parent.mkdir(parents=True)
    with sqlite3.connect(metadata_db(replace(settings, pg_db=db))) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    copy.with_suffix(".migrated").write_text("ok\n")
    lendflow = str(Path(sys.executable).parent / "lendflow")
    base = f"http://127.0.0.1:{port}"
    pid = None
    try:
        up = subprocess.run([lendflow, "up", "-s", "airflow"], env=env, capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        pid = read_pid(home / "run" / "airflow-api-server.pid")
        assert pid is not None

        status, text = _http(base + "/api/v2/monitor/health")
        assert status == 200
        assert json.loads(text)["metadatabase"]["status"] == "healthy"
        status, text = _http(base + "/")
        assert status == 200 and "<title>Airflow</title>" in text

        # No default login: admin/admin is refused, the generated password is the way in.
        assert _http(base + "/api/v2/dags")[0] == 401
        assert _http(base + "/auth/token", {"username": DEFAULT_LOGIN, "password": DEFAULT_LOGIN})[0] == 401
        password = (home / "secrets" / "airflow_password").read_text().strip()
        status, text = _http(base + "/auth/token", {"username": "lendflow", "password": password})
        assert status == 201, text
        token = json.loads(text)["access_token"]
        status, text = _http(base + "/api/v2/dags/lending_elt/dagRuns", token=token)
        assert status == 200, text
        runs = {run["dag_run_id"]: run["state"] for run in json.loads(text)["dag_runs"]}
        assert runs.get(summary["run_id"]) == "success", runs

        down = subprocess.run([lendflow, "down"], env=env, capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not pid_alive(pid), "lendflow down left the API server running"
        assert not port_is_open("127.0.0.1", port)
        assert not (home / "run" / "airflow-api-server.pid").exists()
    finally:
        from lendflow.services import airflow as airflow_service

        airflow_service.stop(own)


@pytest.mark.timeout(1800)  # a whole DAG run inside the test (the others' run is in their fixture)
def test_lending_full_refresh_rebuilds_the_warehouse_and_lands_nothing_twice(
    elt_run: Any, small_sample: Path, topic: str
) -> None:
    """The hand-triggered full refresh, on the warehouse lending_elt built: every task succeeds, the
    file and the stream are not landed again, and every model is rebuilt from scratch to the same rows."""
    _, _, dsn = elt_run
    db = dsn.rsplit("/", 1)[1]
    raw_before = [_count(dsn, f"select count(*) from raw.{table}") for table in ("loans", "loan_events")]
    loans_before = _count(dsn, "select count(*) from marts.fct_loans")
    proc, summary = _airflow_run(
        {**os.environ, "LENDFLOW_PG_DB": db}, *_sample_args(small_sample, topic), dag_id="lending_full_refresh"
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert summary["state"] == "success"
    assert {state for state in summary["task_states"].values()} == {"success"}, summary["failed_tasks"]
    assert sum(task.startswith("dbt.") for task in summary["task_states"]) >= 20
    run_dir = Path(summary["run_dir"])
    assert json.loads((run_dir / "stream_produced.json").read_text())["skipped"]
    assert [_count(dsn, f"select count(*) from raw.{table}") for table in ("loans", "loan_events")] == raw_before
    assert _count(dsn, "select count(*) from marts.fct_loans") == loans_before
    assert summary["mart_rows"]["marts.fct_loans"] == loans_before


@pytest.mark.timeout(1800)
def test_a_model_the_build_cannot_replace_fails_its_own_task_and_the_run(
    elt_run: Any, postgres: Settings, small_sample: Path
) -> None:
    """WATCHER mode: one dbt build for every model; the model it fails on fails its own task (after
    its one retry, run by that task alone), its tests do not run, the other models report success,
    and the run fails. The failure: another session reads the mart, so dbt cannot swap in the new
    table within the lock timeout the run's connections get (PGOPTIONS)."""
    _, _, dsn = elt_run
    db = dsn.rsplit("/", 1)[1]
    owner_dsn = postgres.pg_dsn.rsplit("/", 1)[0] + f"/{db}"
    env = {**os.environ, "LENDFLOW_PG_DB": db, "PGOPTIONS": "-c lock_timeout=2s"}
    with psycopg.connect(owner_dsn) as reader:  # the transaction stays open until the block ends
        reader.execute("lock table marts.dash_loans_by_grade in access share mode")
        proc, summary = _airflow_run(env, "--input", str(small_sample / "loans.csv"), "--no-stream")

    states = summary["task_states"]
    assert proc.returncode != 0
    assert summary["state"] == "failed"
    assert states["dbt.dbt_producer_watcher"] == "failed"
    assert states["dbt.dash_loans_by_grade.run"] == "failed"
    assert states["dbt.dash_loans_by_grade.test"] == "upstream_failed"
    assert states["dbt.fct_loans.run"] == "success"
    assert states["dbt.dash_loans_per_month.run"] == "success"
    assert states["gate_marts"] != "success"
    assert "dbt.dash_loans_by_grade.run" in summary["failed_tasks"]
