"""Running dbt against the warehouse, with the connection taken from settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from lendflow.services.spark import ANSWER_CONF, spark_conf
from lendflow.settings import DBT_PROJECT_DIR, PROFILES_DIR, Settings


class DbtError(RuntimeError):
    """dbt exited non-zero; its own output above says which node failed."""


def dbt_env(settings: Settings, target: str = "postgres") -> dict[str, str]:
    """The variables profiles/profiles.yml reads: dbt connects as the transformer role.

    Least privilege: the transformer reads raw and owns the schemas dbt builds, nothing more
    (lendflow/services/roles.py). On an external warehouse without LENDFLOW_TRANSFORMER_DSN
    that is the warehouse's own DSN (Settings.role_dsn).
    """
    parts = conninfo_to_dict(settings.role_dsn("transformer"))
    return {
        "LENDFLOW_DBT_TARGET": target,
        "DBT_PG_HOST": str(parts.get("host", "127.0.0.1")),
        "DBT_PG_PORT": str(parts.get("port", "5432")),
        "DBT_PG_USER": str(parts.get("user", "")),
        "DBT_PG_PASSWORD": str(parts.get("password", "")),
        "DBT_PG_DBNAME": str(parts.get("dbname", settings.pg_db)),
        "LENDFLOW_HOME": str(settings.home),
        # The spark target's warehouse and metastore (profiles/profiles.yml).
        "LENDFLOW_SPARK_HOME": str(settings.spark_home),
        # The Spark session settings of both Spark targets, from their one source.
        "DBT_SPARK_SESSION_CONF": json.dumps(spark_conf(settings)),
        "DBT_SPARK_THRIFT_CONF": json.dumps(ANSWER_CONF),
        # The spark_thrift target's server: the local cluster's (`up -s spark-cluster`) by default.
        "DBT_SPARK_HOST": settings.spark_thrift_host,
        "DBT_SPARK_PORT": str(settings.spark_thrift_port),
        "DBT_PROFILES_DIR": str(PROFILES_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        # dbt writes its own logs under the project unless told otherwise.
        "DBT_LOG_PATH": str(settings.logs_dir / "dbt"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_executable() -> str:
    """The dbt of the interpreter running us (the project's venv)."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def dbt_target_path(settings: Settings, target: str = "postgres") -> Path:
    """Where `lendflow dbt` keeps dbt's artifacts for one target and warehouse (the manifest, run
    results, docs, the saved parse): DBT_TARGET_PATH if set, else dbt_project/target/<target>-<warehouse>/.

    dbt parses the whole project again when the connection differs from the one its saved parse
    was made with. A folder per connection keeps each one's parse valid, so moving between
    targets or databases costs no full parse, and two processes on two warehouses never write
    into one folder.
    """
    if os.environ.get("DBT_TARGET_PATH"):
        return Path(os.environ["DBT_TARGET_PATH"])
    if target == "postgres":
        warehouse = dbt_env(settings, target)["DBT_PG_DBNAME"]  # the database dbt connects to
    elif target == "spark_thrift":
        warehouse = f"{settings.spark_thrift_host}-{settings.spark_thrift_port}"
    else:  # local mode: one in-process Spark
        warehouse = "local"
    return DBT_PROJECT_DIR / "target" / re.sub(r"[^A-Za-z0-9._-]+", "_", f"{target}-{warehouse}")


def run_dbt(args: Sequence[str], settings: Settings, target: str = "postgres") -> None:
    """Run `dbt <args>` for the project, its artifacts in dbt_target_path() (unless --target-path
    says otherwise); raise DbtError if it fails."""
    env = {**os.environ, **dbt_env(settings, target), "DBT_TARGET_PATH": str(dbt_target_path(settings, target))}
    cmd = [dbt_executable(), *args]
    result = subprocess.run(cmd, cwd=DBT_PROJECT_DIR, env=env, check=False)
    if result.returncode != 0:
        raise DbtError(f"`dbt {' '.join(args)}` failed with exit code {result.returncode}")
