"""The one place every part of lendflow reads its configuration from.

Everything comes from environment variables with documented defaults. When
``LENDFLOW_PG_DSN`` or ``LENDFLOW_KAFKA_BOOTSTRAP`` name external services, lendflow
uses them and starts nothing; otherwise it runs its own local services, with all their
state under ``LENDFLOW_HOME`` (git-ignored).

| variable                  | default                         | meaning                                 |
|---------------------------|---------------------------------|-----------------------------------------|
| LENDFLOW_HOME             | <repo>/.lendflow                | state: data dirs, logs, pid files, jars |
| LENDFLOW_PG_DSN           | (local server)                  | external PostgreSQL; starts nothing     |
| LENDFLOW_PG_PORT          | 55432                           | port of the local PostgreSQL server     |
| LENDFLOW_PG_DB            | lendflow                        | database of the local server            |
| LENDFLOW_KAFKA_BOOTSTRAP  | (local broker)                  | external Kafka; starts nothing          |
| LENDFLOW_KAFKA_PORT       | 59092                           | client port of the local broker         |
| LENDFLOW_KAFKA_TOPIC      | loans                           | topic the stream flows through          |
| LENDFLOW_KAFKA_PARTITIONS | 3                               | partitions of topics we create          |
| LENDFLOW_<ROLE>_DSN       | (local role)                    | DSN of the loader/transformer/reader/   |
|                           |                                 | gate role (see ROLES); external servers |
| LENDFLOW_MAX_QUARANTINED_SHARE | 0.05                       | share of a batch's records quarantined  |
|                           |                                 | above which the marts gate fails a run  |
| LENDFLOW_DASHBOARD_PORT   | 8050                            | port the dashboard serves on            |
| LENDFLOW_AIRFLOW_PORT     | 58080                           | port of the local Airflow API server    |
| LENDFLOW_SPARK_HOME       | $LENDFLOW_HOME/spark            | Spark warehouse, Derby metastore and    |
|                           |                                 | checkpoints (one per run in tests)      |
| LENDFLOW_SPARK_MASTER_PORT | 57077                          | the local Spark cluster's master        |
| LENDFLOW_SPARK_MASTER_UI_PORT | 58081                       | its web UI (JSON at /json); the worker's|
|                           |                                 | UI takes the next port                  |
| LENDFLOW_SPARK_WORKER_CORES | 2                             | cores and memory the local cluster's    |
| LENDFLOW_SPARK_WORKER_MEMORY | 2g                           | one worker offers its executors         |
| LENDFLOW_SPARK_TARGET     | spark                           | where the Spark jobs (staging, Python   |
|                           |                                 | steps, questions, encoders) and the     |
|                           |                                 | lending_elt_spark DAG run: spark (local |
|                           |                                 | mode) or spark_thrift (the cluster)     |
| LENDFLOW_SPARK_MASTER     | spark://127.0.0.1:<master port> | the cluster's master, for spark_thrift  |
| DBT_SPARK_HOST            | 127.0.0.1                       | Thrift server of the spark_thrift target|
| DBT_SPARK_PORT            | 10000                           | (on 127.0.0.1: the local Spark cluster) |
| LENDFLOW_READER_STATEMENT_TIMEOUT | 30s                     | longest statement of the reader role    |
|                           |                                 | (dashboard, pgAdmin); PostgreSQL units  |
| LENDFLOW_READER_CONNECTION_LIMIT  | 20                      | most sessions the reader may hold       |
| LENDFLOW_PG_BINDIR        | (Debian's newest, else PATH)    | where initdb and pg_ctl are             |
| LENDFLOW_DASHBOARD_ALLOW_DEBUG | (unset)                    | exactly 1 lets `--debug` run Dash's     |
|                           |                                 | debugger (dashboard/serving_policy.py)  |
| LENDFLOW_COSMOS_EXECUTION_MODE | watcher                    | Cosmos: watcher (one `dbt build`) or    |
|                           |                                 | local (one dbt call per task)           |
| LENDFLOW_COSMOS_LOAD_MODE | dbt_manifest                    | Cosmos renders from the compiled        |
|                           |                                 | manifest, or dbt_ls (benchmarks only)   |
| LENDFLOW_COSMOS_TEST_BEHAVIOR | after_each                  | Cosmos: a test task after each model,   |
|                           |                                 | or build (local mode only)              |
| LENDFLOW_STREAM_POLL_INTERVAL | 1.0                         | `lendflow stream`: seconds a cycle waits|
|                           |                                 | for the first new message               |
| LENDFLOW_STREAM_PERIODIC_EVERY | 20                         | `lendflow stream`: every N builds, also |
|                           |                                 | the periodic lane (selector             |
|                           |                                 | stream_periodic_data: whole-table models|
|                           |                                 | and every data test; with the views and |
|                           |                                 | unit tests after a project change)      |
| LENDFLOW_STREAM_MAX_BATCH | 100000                          | `lendflow stream`: most messages landed |
|                           |                                 | (and built) per cycle                   |
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
PROFILES_DIR = REPO_ROOT / "profiles"

LOCAL_HOST = "127.0.0.1"
# dbt's two Spark targets (profiles/profiles.yml): local mode in-process, and a cluster's Thrift server.
SPARK_TARGETS = ("spark", "spark_thrift")
LOCAL_PG_USER = "lendflow"

# Least privilege: who may do what in the warehouse. Locally each is a login role
# `lendflow_<name>` with a generated password; elsewhere LENDFLOW_<NAME>_DSN names it.
ROLES = {
    "loader": "inserts into raw, nothing else",
    "transformer": "dbt: reads raw, owns staging, intermediate and marts",
    "reader": "selects from marts only (the dashboard, pgAdmin)",
    "gate": "selects from raw, intermediate and marts (the quality gates)",
}

DEFAULT_MAX_QUARANTINED_SHARE = 0.05

DASHBOARD_ALLOW_DEBUG_ENV = "LENDFLOW_DASHBOARD_ALLOW_DEBUG"
COSMOS_EXECUTION_MODE_ENV = "LENDFLOW_COSMOS_EXECUTION_MODE"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _create_once(path: Path, content: str) -> None:
    """Write `path` with `content` unless it exists, atomically: the first writer wins.

    Two first runs at once (`lendflow up` beside a test session) must not each keep a
    password of their own. The content goes to a private temporary file that is then
    hard-linked into place: the link fails if `path` exists, and a reader never sees a
    half-written file. The loser drops its value; the caller reads back the winner's.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another run won: keep its value
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


@dataclass(frozen=True)
class Settings:
    """A snapshot of the configuration; build it with :func:`load`."""

    home: Path
    pg_dsn_override: str | None
    pg_port: int
    pg_db: str
    kafka_bootstrap_override: str | None
    kafka_port: int
    kafka_topic: str
    # Three partitions let up to three consumers share the stream; order per loan id holds.
    kafka_partitions: int
    dashboard_port: int
    airflow_port: int
    role_dsn_overrides: dict[str, str]
    spark_home_override: Path | None = None
    # A batch may lose this share of its records to quarantine before the marts gate fails the run.
    max_quarantined_share: float = DEFAULT_MAX_QUARANTINED_SHARE
    # The reader serves people (dashboard, pgAdmin): one runaway query or a flood of sessions
    # must not take the warehouse from the loader and dbt (lendflow/services/roles.py).
    reader_statement_timeout: str = "30s"
    reader_connection_limit: int = 20
    pg_bindir_override: Path | None = None
    # The value as set, judged by dashboard/serving_policy.py (only exactly "1" allows debug).
    dashboard_allow_debug: str | None = None
    # Cosmos (orchestration/config.py): values of its ExecutionMode, LoadMode and TestBehavior.
    cosmos_execution_mode: str = "watcher"
    cosmos_load_mode: str = "dbt_manifest"
    cosmos_test_behavior: str = "after_each"
    # `lendflow stream` (orchestration/stream.py): how long a cycle waits for new messages, how
    # often the periodic lane runs (in builds), and the most messages one cycle lands.
    stream_poll_interval: float = 1.0
    stream_periodic_every: int = 20
    stream_max_batch: int = 100_000
    # The local Spark cluster (lendflow/services/spark_cluster.py), sized for a laptop, and the
    # Thrift server the spark_thrift target dials: the local cluster's unless the host is remote.
    spark_master_port: int = 57077
    spark_master_ui_port: int = 58081
    spark_worker_cores: int = 2
    spark_worker_memory: str = "2g"
    spark_thrift_host: str = LOCAL_HOST
    spark_thrift_port: int = 10000
    # Where Spark work runs: dbt's target name for it (SPARK_TARGETS); a cluster's master URL
    # when it is not the local cluster's.
    spark_target: str = "spark"
    spark_master_override: str | None = None

    def __post_init__(self) -> None:
        if self.spark_target not in SPARK_TARGETS:
            choices = ", ".join(SPARK_TARGETS)
            raise ValueError(f"LENDFLOW_SPARK_TARGET must be one of {choices}, not {self.spark_target!r}")

    # --- where state lives -------------------------------------------------
    @property
    def data_dir(self) -> Path:
        """Generated samples and other input files."""
        return self.home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        """Pid files of the local services."""
        return self.home / "run"

    @property
    def pg_home(self) -> Path:
        return self.home / "postgres"

    @property
    def kafka_home(self) -> Path:
        return self.home / "kafka"

    @property
    def spark_home(self) -> Path:
        return self.spark_home_override or self.home / "spark"

    @property
    def spark_packages_dir(self) -> Path:
        """Ivy's cache of Spark packages from Maven Central: downloaded once, shared by every Spark home."""
        return self.home / "spark-packages"

    @property
    def spark_checkpoints_dir(self) -> Path:
        """Structured Streaming checkpoints (Kafka offsets landed into Spark staging): one set per
        catalog, since an offset landed into local mode's catalog is not landed on the cluster."""
        return (self.spark_cluster_home if self.spark_on_cluster else self.spark_home) / "checkpoints"

    @property
    def spark_warehouse_dir(self) -> Path:
        return self.spark_home / "warehouse"

    @property
    def spark_metastore_dir(self) -> Path:
        """Derby's home: the metastore_db folder appears here."""
        return self.spark_home / "metastore"

    @property
    def spark_cluster_home(self) -> Path:
        """The local cluster's configuration, warehouse and worker folders (its catalog is not local mode's)."""
        return self.spark_home / "cluster"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def runs_dir(self) -> Path:
        """One folder of artifacts per pipeline run."""
        return self.home / "runs"

    # --- PostgreSQL --------------------------------------------------------
    @property
    def pg_is_local(self) -> bool:
        return self.pg_dsn_override is None

    def local_secret(self, name: str) -> str:
        """A password of the local stack: generated once, kept in the state folder.

        Nothing secret is ever written into the repository.
        """
        path = self.home / "secrets" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _create_once(path, secrets.token_urlsafe(24))
        return path.read_text().strip()

    @cached_property
    def pg_password(self) -> str:
        return self.local_secret("pg_password")

    def role_dsn(self, role: str) -> str:
        """DSN of a least-privilege role (one of ROLES).

        External warehouse without LENDFLOW_<ROLE>_DSN: the main DSN, since we cannot
        create roles there ourselves.
        """
        if role not in ROLES:
            raise KeyError(f"unknown role {role!r}; expected one of {sorted(ROLES)}")
        if role in self.role_dsn_overrides:
            return self.role_dsn_overrides[role]
        if not self.pg_is_local:
            return self.pg_dsn
        password = quote(self.local_secret(f"pg_{role}_password"), safe="")
        return f"postgresql://lendflow_{role}:{password}@{LOCAL_HOST}:{self.pg_port}/{self.pg_db}"

    @property
    def pg_dsn(self) -> str:
        """libpq URI of the warehouse database."""
        if self.pg_dsn_override:
            return self.pg_dsn_override
        return (
            f"postgresql://{LOCAL_PG_USER}:{quote(self.pg_password, safe='')}@{LOCAL_HOST}:{self.pg_port}/{self.pg_db}"
        )

    @property
    def sqlalchemy_url(self) -> str:
        return "postgresql+psycopg" + self.pg_dsn[len("postgresql") :]

    # --- Kafka -------------------------------------------------------------
    @property
    def kafka_is_local(self) -> bool:
        return self.kafka_bootstrap_override is None

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka_bootstrap_override or f"{LOCAL_HOST}:{self.kafka_port}"

    @property
    def kafka_controller_port(self) -> int:
        return self.kafka_port + 1

    # --- Spark cluster -----------------------------------------------------
    def on_target(self, target: str) -> Settings:
        """These settings with Spark work sent where dbt's `target` runs (unchanged for postgres)."""
        return dataclasses.replace(self, spark_target=target) if target in SPARK_TARGETS else self

    @property
    def spark_on_cluster(self) -> bool:
        """True when Spark work goes to the cluster the spark_thrift target reaches, not local mode."""
        return self.spark_target == "spark_thrift"

    @property
    def spark_master_url(self) -> str:
        return self.spark_master_override or f"spark://{LOCAL_HOST}:{self.spark_master_port}"

    @property
    def spark_worker_ui_port(self) -> int:
        return self.spark_master_ui_port + 1

    @property
    def spark_thrift_is_local(self) -> bool:
        """True when the spark_thrift target dials this machine, where `up -s spark-cluster` serves it."""
        return self.spark_thrift_host in (LOCAL_HOST, "localhost")

    @property
    def spark_thrift_address(self) -> str:
        return f"{self.spark_thrift_host}:{self.spark_thrift_port}"

    @property
    def spark_metastore_db(self) -> str:
        """The cluster's Hive metastore: a PostgreSQL database, and the role that owns it, of this name."""
        return f"{self.pg_db}_metastore"


def load() -> Settings:
    """Read the environment now (tests change it; nothing is cached at import)."""
    return Settings(
        home=Path(_env("LENDFLOW_HOME", str(REPO_ROOT / ".lendflow"))).resolve(),
        pg_dsn_override=os.environ.get("LENDFLOW_PG_DSN") or None,
        pg_port=int(_env("LENDFLOW_PG_PORT", "55432")),
        pg_db=_env("LENDFLOW_PG_DB", "lendflow"),
        kafka_bootstrap_override=os.environ.get("LENDFLOW_KAFKA_BOOTSTRAP") or None,
        kafka_port=int(_env("LENDFLOW_KAFKA_PORT", "59092")),
        kafka_topic=_env("LENDFLOW_KAFKA_TOPIC", "loans"),
        kafka_partitions=int(_env("LENDFLOW_KAFKA_PARTITIONS", "3")),
        dashboard_port=int(_env("LENDFLOW_DASHBOARD_PORT", "8050")),
        airflow_port=int(_env("LENDFLOW_AIRFLOW_PORT", "58080")),
        role_dsn_overrides={
            role: os.environ[f"LENDFLOW_{role.upper()}_DSN"]
            for role in ROLES
            if os.environ.get(f"LENDFLOW_{role.upper()}_DSN")
        },
        spark_home_override=Path(os.environ["LENDFLOW_SPARK_HOME"]).resolve()
        if os.environ.get("LENDFLOW_SPARK_HOME")
        else None,
        reader_statement_timeout=_env("LENDFLOW_READER_STATEMENT_TIMEOUT", "30s"),
        reader_connection_limit=int(_env("LENDFLOW_READER_CONNECTION_LIMIT", "20")),
        max_quarantined_share=_share("LENDFLOW_MAX_QUARANTINED_SHARE", DEFAULT_MAX_QUARANTINED_SHARE),
        pg_bindir_override=Path(os.environ["LENDFLOW_PG_BINDIR"]) if os.environ.get("LENDFLOW_PG_BINDIR") else None,
        dashboard_allow_debug=os.environ.get(DASHBOARD_ALLOW_DEBUG_ENV),
        cosmos_execution_mode=_env(COSMOS_EXECUTION_MODE_ENV, "watcher").lower(),
        cosmos_load_mode=_env("LENDFLOW_COSMOS_LOAD_MODE", "dbt_manifest"),
        cosmos_test_behavior=_env("LENDFLOW_COSMOS_TEST_BEHAVIOR", "after_each"),
        stream_poll_interval=float(_env("LENDFLOW_STREAM_POLL_INTERVAL", "1.0")),
        stream_periodic_every=int(_env("LENDFLOW_STREAM_PERIODIC_EVERY", "20")),
        stream_max_batch=int(_env("LENDFLOW_STREAM_MAX_BATCH", "100000")),
        spark_master_port=int(_env("LENDFLOW_SPARK_MASTER_PORT", "57077")),
        spark_master_ui_port=int(_env("LENDFLOW_SPARK_MASTER_UI_PORT", "58081")),
        spark_worker_cores=int(_env("LENDFLOW_SPARK_WORKER_CORES", "2")),
        spark_worker_memory=_env("LENDFLOW_SPARK_WORKER_MEMORY", "2g"),
        spark_thrift_host=_env("DBT_SPARK_HOST", LOCAL_HOST),
        spark_thrift_port=int(_env("DBT_SPARK_PORT", "10000")),
        spark_target=_env("LENDFLOW_SPARK_TARGET", "spark"),
        spark_master_override=os.environ.get("LENDFLOW_SPARK_MASTER") or None,
    )


def environment(settings: Settings) -> dict[str, str]:
    """settings as the variables :func:`load` reads: `load()` under them gives settings back.

    For a child process (a CLI command, a Spark job) that must see this configuration, not the
    one of the calling process's own environment.
    """
    optional = {
        "LENDFLOW_PG_DSN": settings.pg_dsn_override,
        "LENDFLOW_KAFKA_BOOTSTRAP": settings.kafka_bootstrap_override,
        "LENDFLOW_SPARK_HOME": settings.spark_home_override,
        "LENDFLOW_PG_BINDIR": settings.pg_bindir_override,
        DASHBOARD_ALLOW_DEBUG_ENV: settings.dashboard_allow_debug,
        "LENDFLOW_SPARK_MASTER": settings.spark_master_override,
    }
    roles = {f"LENDFLOW_{role.upper()}_DSN": dsn for role, dsn in settings.role_dsn_overrides.items()}
    return {
        "LENDFLOW_HOME": str(settings.home),
        "LENDFLOW_PG_PORT": str(settings.pg_port),
        "LENDFLOW_PG_DB": settings.pg_db,
        "LENDFLOW_KAFKA_PORT": str(settings.kafka_port),
        "LENDFLOW_KAFKA_TOPIC": settings.kafka_topic,
        "LENDFLOW_KAFKA_PARTITIONS": str(settings.kafka_partitions),
        "LENDFLOW_DASHBOARD_PORT": str(settings.dashboard_port),
        "LENDFLOW_AIRFLOW_PORT": str(settings.airflow_port),
        "LENDFLOW_READER_STATEMENT_TIMEOUT": settings.reader_statement_timeout,
        "LENDFLOW_READER_CONNECTION_LIMIT": str(settings.reader_connection_limit),
        "LENDFLOW_MAX_QUARANTINED_SHARE": repr(settings.max_quarantined_share),
        COSMOS_EXECUTION_MODE_ENV: settings.cosmos_execution_mode,
        "LENDFLOW_COSMOS_LOAD_MODE": settings.cosmos_load_mode,
        "LENDFLOW_COSMOS_TEST_BEHAVIOR": settings.cosmos_test_behavior,
        "LENDFLOW_STREAM_POLL_INTERVAL": repr(settings.stream_poll_interval),
        "LENDFLOW_STREAM_PERIODIC_EVERY": str(settings.stream_periodic_every),
        "LENDFLOW_STREAM_MAX_BATCH": str(settings.stream_max_batch),
        "LENDFLOW_SPARK_MASTER_PORT": str(settings.spark_master_port),
        "LENDFLOW_SPARK_MASTER_UI_PORT": str(settings.spark_master_ui_port),
        "LENDFLOW_SPARK_WORKER_CORES": str(settings.spark_worker_cores),
        "LENDFLOW_SPARK_WORKER_MEMORY": settings.spark_worker_memory,
        "DBT_SPARK_HOST": settings.spark_thrift_host,
        "DBT_SPARK_PORT": str(settings.spark_thrift_port),
        "LENDFLOW_SPARK_TARGET": settings.spark_target,
        **{name: str(value) for name, value in optional.items() if value is not None},
        **roles,
    }


def child_environment(settings: Settings) -> dict[str, str]:
    """This process's environment with every variable :func:`load` reads replaced by settings':
    what a child `lendflow` process needs to run on exactly these settings. (dbt's own
    variables the profile reads directly, DBT_SPARK_USER and the like, pass through.)"""
    read_by_load = ("DBT_SPARK_HOST", "DBT_SPARK_PORT")
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("LENDFLOW_") and name not in read_by_load
    }
    return {**inherited, **environment(settings)}


def _share(name: str, default: float) -> float:
    """A fraction between 0 and 1 from the environment; anything else is a configuration error."""
    text = _env(name, str(default))
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number between 0 and 1, not {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, not {value}")
    return value
