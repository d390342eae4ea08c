"""Airflow for lendflow: its home, its settings (all as AIRFLOW__ variables) and its metadata DB.

Airflow reads its configuration when it is first imported, so :func:`activate` must run
before anything imports ``airflow`` (or ``cosmos``); otherwise ``~/airflow`` appears and our
settings are ignored. The metadata DB is SQLite, one file per warehouse database, so a test
run (``LENDFLOW_PG_DB=lendflow_test``) never mixes its DAG runs with those of ``make run``.
``airflow db migrate`` runs once per file (a marker remembers it).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lendflow.dbt import dbt_env
from lendflow.services.base import ServiceError
from lendflow.settings import REPO_ROOT, Settings

DAGS_FOLDER = REPO_ROOT / "orchestration" / "dags"


def metadata_db(settings: Settings) -> Path:
    return settings.airflow_home / f"airflow-{settings.pg_db}.db"


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
        "AIRFLOW__OPENLINEAGE__DISABLED": "True",
        "LENDFLOW_PG_DB": settings.pg_db,
        "LENDFLOW_HOME": str(settings.home),
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
