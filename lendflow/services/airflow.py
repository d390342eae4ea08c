"""Airflow for lendflow: its home, its settings (all as AIRFLOW__ variables), its metadata DB,
and its API server (the Airflow UI) as a background service.

Airflow reads its configuration when it is first imported, so :func:`activate` must run
before anything imports ``airflow`` (or ``cosmos``); otherwise ``~/airflow`` appears and our
settings are ignored. The metadata DB is SQLite, one file per warehouse database, so a test
run (``LENDFLOW_PG_DB=lendflow_test``) never mixes its DAG runs with those of ``make run``.
``airflow db migrate`` runs once per file (a marker remembers it).

The UI (`lendflow up -s airflow`) is ``airflow api-server`` on that same SQLite file: it shows the
DAG runs ``dag.test()`` recorded there (no scheduler runs locally; DAGs run in-process). One
login, ``lendflow``, with a password generated into ``$LENDFLOW_HOME/secrets/`` (Airflow's simple
auth manager reads it from its passwords file); nothing defaults to admin/admin.

:func:`standalone` runs every component (``airflow standalone``) on a throwaway home holding only
the DAGs it is given: the event-driven DAG needs a triggerer for its asset watcher, which
``dag.test()`` does not run (its integration test and ``bench/bench_freshness.py --via dag``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient

from lendflow.dbt import dbt_env
from lendflow.services.base import (
    Daemon,
    ServiceError,
    ServiceStatus,
    free_port,
    port_is_open,
    spawn_detached,
    tail,
    wait_until,
)
from lendflow.settings import LOCAL_HOST, REPO_ROOT, Settings

DAGS_FOLDER = REPO_ROOT / "orchestration" / "dags"


def metadata_db(settings: Settings) -> Path:
    return settings.airflow_home / f"airflow-{settings.pg_db}.db"


# The Airflow connection the `lending_stream` DAG's asset watcher reads the topic with.
WATCH_CONNECTION_ID = "lendflow_kafka_watch"


def watch_group(settings: Settings) -> str:
    """The watcher's own consumer group, apart from the warehouse's landing group: the watcher only
    signals that messages arrived (it commits its own place), while the landing task consumes with
    the landing group and commits those offsets with the rows (streaming/consumer.py)."""
    return f"lendflow-watch-{settings.pg_db}"


def watch_connection(settings: Settings) -> str:
    """The watcher's connection as Airflow reads it from AIRFLOW_CONN_<ID> (JSON, no secret in it).

    It starts at the topic's end the first time its group is seen: what was sent before is landed
    by the first run a new message starts. A triggerer that dies frees its partitions in 6 s, not 45 s.
    """
    extra = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": watch_group(settings),
        "auto.offset.reset": "latest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
    }
    return json.dumps({"conn_type": "kafka", "extra": extra})


def airflow_env(settings: Settings) -> dict[str, str]:
    """Every setting Airflow and Cosmos need, as environment variables (nothing in airflow.cfg).

    The dbt connection variables (DBT_PG_*) ride along: Cosmos runs dbt in the task's process,
    and the profile reads them from the environment, so no secret enters a DAG's arguments.
    """
    home = settings.airflow_home
    api = f"http://127.0.0.1:{settings.airflow_port}"
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{metadata_db(settings)}",
        # Two cores shared with PostgreSQL, Kafka and dbt: more parallel tasks only thrash.
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "False",
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "SCARF_ANALYTICS": "false",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        # Cosmos caches partial parses and copies of the project here.
        "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos-cache"),
        # The URI scheme Airflow 3 accepts for the assets Cosmos emits (db/schema/table).
        "AIRFLOW__COSMOS__USE_DATASET_AIRFLOW3_URI_STANDARD": "True",
        # The WATCHER producer would rewrite one growing Variable on every XCom it pushes (a third
        # of its dbt build's time here); off, the backup is written once, if the build fails.
        "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
        "AIRFLOW__OPENLINEAGE__DISABLED": "True",
        "LENDFLOW_PG_DB": settings.pg_db,
        "LENDFLOW_HOME": str(settings.home),
        f"AIRFLOW_CONN_{WATCH_CONNECTION_ID.upper()}": watch_connection(settings),
    }
    return {**env, **dbt_env(settings)}


def activate(settings: Settings) -> None:
    """Put Airflow's settings into this process's environment; must precede `import airflow`."""
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != str(settings.airflow_home):
        raise ServiceError("airflow was imported before lendflow set AIRFLOW_HOME; call activate() first")
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    os.environ.update(airflow_env(settings))


@contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    path = settings.airflow_home / ".migrate.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_db(settings: Settings) -> Path:
    """Run `airflow db migrate` once for this warehouse's metadata DB; the DB file."""
    db = metadata_db(settings)
    marker = db.with_suffix(".migrated")
    with _lock(settings):
        if marker.is_file() and db.is_file():
            return db
        settings.airflow_home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **airflow_env(settings)}
        airflow = Path(sys.executable).parent / "airflow"
        proc = subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ServiceError(f"`airflow db migrate` failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
        marker.write_text("ok\n")
    return db


# --- the API server: the Airflow UI over the metadata DB -------------------------------------
UI_USER = "lendflow"
HEALTH_PATH = "/api/v2/monitor/health"


DAEMON = Daemon("airflow-api-server")


def _served_db_file(settings: Settings) -> Path:
    """Which metadata DB the running API server shows (it serves one warehouse's DAG runs)."""
    return settings.run_dir / "airflow-api-server.db"


def address(settings: Settings) -> str:
    return f"http://{LOCAL_HOST}:{settings.airflow_port}/"


def password_file(settings: Settings) -> Path:
    """The UI user's password, generated once (settings.local_secret)."""
    settings.local_secret("airflow_password")
    return settings.home / "secrets" / "airflow_password"


def _ui_env(settings: Settings) -> dict[str, str]:
    """airflow_env plus the login: one admin user whose password we generated, a fixed JWT secret
    (tokens stay valid across restarts and workers), and the server bound to localhost only."""
    passwords = settings.home / "secrets" / "airflow_passwords.json"
    passwords.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    passwords.write_text(json.dumps({UI_USER: settings.local_secret("airflow_password")}))
    passwords.chmod(0o600)
    return {
        **os.environ,
        **airflow_env(settings),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{UI_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": settings.local_secret("airflow_jwt_secret"),
        "AIRFLOW__API__HOST": LOCAL_HOST,
    }


def healthy(settings: Settings) -> bool:
    """The API server on settings.airflow_port answers its health check."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(address(settings).rstrip("/") + HEALTH_PATH, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start(settings: Settings) -> None:
    """Serve the Airflow UI in the background on this warehouse's metadata DB (idempotent).

    Already serving another warehouse's DB (another LENDFLOW_PG_DB): restarted on this one.
    """
    db = ensure_db(settings)
    pid = DAEMON.pid(settings)
    if pid is not None:
        served = _served_db_file(settings)
        if served.is_file() and served.read_text().strip() == str(db):
            return
        stop(settings)
    if port_is_open(LOCAL_HOST, settings.airflow_port):
        raise ServiceError(
            f"port {settings.airflow_port} is taken by another process; stop it or set LENDFLOW_AIRFLOW_PORT"
        )
    airflow = Path(sys.executable).parent / "airflow"
    # One worker: a UI for one person on two cores; more workers only cost memory.
    cmd = [str(airflow), "api-server", "--host", LOCAL_HOST, "--port", str(settings.airflow_port), "--workers", "1"]
    pid = spawn_detached(cmd, DAEMON.log_file(settings), DAEMON.pid_file(settings), env=_ui_env(settings))
    _served_db_file(settings).write_text(str(db))
    try:
        wait_until(lambda: healthy(settings), 120, "the Airflow API server to answer", interval=1.0)
    except ServiceError as error:
        stop(settings)
        raise ServiceError(f"{error}\n{tail(DAEMON.log_file(settings))}") from error


def stop(settings: Settings) -> None:
    DAEMON.stop(settings)
    _served_db_file(settings).unlink(missing_ok=True)


def status(settings: Settings) -> ServiceStatus:
    running = DAEMON.pid(settings) is not None
    served = _served_db_file(settings)
    shows = served.read_text().strip() if running and served.is_file() else str(metadata_db(settings))
    detail = f"login {UI_USER}, password in {password_file(settings)}; DB {shows}; log: {DAEMON.log_file(settings)}"
    return ServiceStatus("airflow", running, address(settings), detail=detail)


# --- `airflow standalone`: every component, for the event-driven DAG ------------------------
@dataclass(frozen=True)
class Standalone:
    """A running `airflow standalone` (scheduler, triggerer, DAG processor, API server) on a home
    of its own, holding only the DAG files it was given, on its own port (settings.airflow_port)."""

    settings: Settings
    home: Path
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def metadata_db(self) -> Path:
        return self.home / "airflow.db"

    def dag_runs(self, dag_id: str) -> list[tuple[str, str]]:
        """(run_type, state) of every run of dag_id so far, oldest first."""
        if not self.metadata_db.is_file():
            return []
        with contextlib.closing(sqlite3.connect(self.metadata_db)) as conn:
            try:
                rows = conn.execute("select run_type, state from dag_run where dag_id = ? order by id", (dag_id,))
                return [(str(run_type), str(state)) for run_type, state in rows.fetchall()]
            except sqlite3.OperationalError:  # tables not migrated yet
                return []

    def wait_until_ready(self, timeout: float = 210.0) -> None:
        """Until the asset watcher's trigger holds the topic and the API server answers.

        Tasks report to the API server: a run started before it answers waits for it (~30 s). The
        watcher's new group starts at the topic's end, so a message sent before it fetched that
        position would start no run: a short pause after it joined lets it.
        """
        deadline = time.monotonic() + timeout
        for what, check in (("the watcher in the triggerer", watcher_listening), ("the API server", healthy)):
            try:
                wait_until(partial(check, self.settings), max(deadline - time.monotonic(), 1), what, interval=0.5)
            except ServiceError as error:
                raise ServiceError(f"{error}; Airflow's log ends:\n{tail(self.log, 60)}") from error
        time.sleep(2)


def watcher_listening(settings: Settings) -> bool:
    """The asset watcher's trigger holds the topic's partitions in the watcher's group."""
    # log_level 0: no librdkafka chatter on the terminal for every probe.
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap, "log_level": 0})
    (future,) = admin.describe_consumer_groups([watch_group(settings)], request_timeout=5).values()
    try:
        group = future.result()
    except Exception:  # the group does not exist until the trigger first joins it
        return False
    return bool(group.state == ConsumerGroupState.STABLE and group.members)


def standalone_env(settings: Settings, home: Path, dags: Path) -> dict[str, str]:
    """airflow_env with everything in `home` (metadata DB, task logs), the DAGs of `dags` only, one
    API worker and a JWT secret of its own."""
    return {
        **os.environ,
        **airflow_env(settings),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(24),
        "LENDFLOW_KAFKA_TOPIC": settings.kafka_topic,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


@contextmanager
def standalone(settings: Settings, dag_files: Sequence[Path], home: Path) -> Iterator[Standalone]:
    """`airflow standalone` on `home` with copies of dag_files alone (nothing else to parse or run),
    on a free port; its output to home/standalone.log. On exit every process it started stops.

    New DAGs start unpaused (airflow_env). `dag.test()` runs no asset watcher: this is how the
    event-driven DAG runs as it would in production.
    """
    dags = home / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    for dag_file in dag_files:
        (dags / dag_file.name).write_text(dag_file.read_text())
    settings = replace(settings, airflow_port=free_port())
    log = home / "standalone.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), "standalone"],
            env=standalone_env(settings, home, dags),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops every component it started
        )
    try:
        yield Standalone(settings, home, log, process)
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM to every process of the group `process` leads, SIGKILL to what is left after `grace`
    seconds: the scheduler can outlive standalone itself, still in its group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reap the leader, or the group never empties
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
