"""A local Spark standalone cluster: a master, one worker and a Thrift server, from the pyspark wheel.

`lendflow up -s spark-cluster` starts it; dbt's `spark_thrift` target (DBT_SPARK_HOST and
DBT_SPARK_PORT: Settings.spark_thrift_*) then runs the warehouse there instead of in local mode.
No Spark distribution is downloaded: the wheel carries `spark-class`, `spark-submit` and the
`spark-hive-thriftserver` jar.

Everything the cluster reads lives in one folder, Settings.spark_cluster_home/conf: the
spark-defaults.conf of lendflow/services/spark.py's `cluster_conf` and a hive-site.xml that keeps
Hive's metastore in PostgreSQL (a database and a role named Settings.spark_metastore_db), so
several JVMs — the Thrift server, jobs submitted to the cluster — share one catalog, which
Derby's single-process store cannot. Each process is a Daemon (pid file and log under
LENDFLOW_HOME) in a process group of its own: the worker's executors are in the worker's
group, so `down` leaves no JVM behind.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from lendflow.db import connect_dsn, maintenance_dsn
from lendflow.services import postgres
from lendflow.services.base import (
    Daemon,
    ServiceError,
    ServiceStatus,
    pid_alive,
    port_is_open,
    spawn_detached,
    start_lock,
    tail,
    terminate,
    wait_until,
)
from lendflow.services.spark import (
    POSTGRES_JDBC_PACKAGE,
    cluster_conf,
    cluster_conf_dir,
    maven_jar,
    metastore_properties,
    schema_tool_properties,
)
from lendflow.settings import LOCAL_HOST, Settings

NAME = "spark-cluster"
THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
# A machine shared with PostgreSQL, Kafka and Airflow: the master and worker daemons need little
# heap (the work happens in executors, sized by cluster_conf).
DAEMON_MEMORY = "512m"
START_TIMEOUT = 240.0  # the Thrift server starts a driver, opens the metastore and gets executors


@dataclass(frozen=True)
class Process:
    """One JVM of the cluster: its Daemon, and the main class its command line must name."""

    daemon: Daemon
    main_class: str

    def pid(self, settings: Settings) -> int | None:
        """Its pid while it runs; a recycled pid that runs something else does not count."""
        pid = self.daemon.pid(settings)
        if pid is None:
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            return None
        return pid if self.main_class.encode() in cmdline else None


MASTER = Process(Daemon("spark-master"), "org.apache.spark.deploy.master.Master")
WORKER = Process(Daemon("spark-worker"), "org.apache.spark.deploy.worker.Worker")
THRIFT = Process(Daemon("spark-thrift"), THRIFT_SERVER_CLASS)
PROCESSES = (MASTER, WORKER, THRIFT)  # in order of start


# --- folders and files -----------------------------------------------------
def pyspark_home() -> Path:
    """The pyspark package: a Spark home with bin/ and jars/."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("pyspark is not installed in this environment")
    return Path(next(iter(spec.submodule_search_locations)))


def properties_text(conf: dict[str, str]) -> str:
    """conf as a Java properties file (spark-defaults.conf, DataNucleus's -props)."""
    return "".join(f"{key}={value}\n" for key, value in conf.items())


def hadoop_xml(properties: dict[str, str]) -> str:
    """properties as a Hadoop configuration file (hive-site.xml)."""
    items = "".join(
        f"  <property><name>{escape(key)}</name><value>{escape(value)}</value></property>\n"
        for key, value in properties.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{items}</configuration>\n'


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read: it holds the metastore's password."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


# --- the metastore in PostgreSQL ------------------------------------------
def metastore_login(settings: Settings) -> tuple[str, str, str]:
    """(JDBC URL, user, password) of the metastore database, on the warehouse's server."""
    server = conninfo_to_dict(settings.pg_dsn)
    host, port = server.get("host", LOCAL_HOST), server.get("port", "5432")
    name = settings.spark_metastore_db
    return f"jdbc:postgresql://{host}:{port}/{name}", name, settings.local_secret("pg_metastore_password")


def ensure_metastore_database(settings: Settings) -> None:
    """The metastore's role (its password kept in sync with ours) and database, owned by it."""
    _, name, password = metastore_login(settings)
    role = sql.Identifier(name)
    with connect_dsn(maintenance_dsn(settings), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone()
        conn.execute(
            sql.SQL("{} role {} with login nosuperuser nocreatedb nocreaterole password {}").format(
                sql.SQL("alter" if exists else "create"), role, sql.Literal(password)
            )
        )
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("create database {} owner {}").format(role, role))


def metastore_dsn(settings: Settings) -> str:
    _, name, password = metastore_login(settings)
    return make_conninfo(settings.pg_dsn, dbname=name, user=name, password=password)


def drop_metastore(settings: Settings) -> None:
    """Forget the cluster's catalog (its database and every table in it), while the cluster is down:
    a new Spark home's cluster must not inherit tables whose folders were in the old one."""
    postgres.drop_database(dataclasses.replace(settings, pg_db=settings.spark_metastore_db))


def metastore_has_schema(settings: Settings) -> bool:
    with connect_dsn(metastore_dsn(settings)) as conn:
        return conn.execute("""select to_regclass('public."TBLS"') is not null""").fetchone() == (True,)


def create_metastore_schema(settings: Settings) -> None:
    """Every table of Hive's metastore at once, with DataNucleus's SchemaTool and Hive's own mapping.

    Hive's schema scripts are not in the wheel, but its JDO mapping (package.jdo) is, and it
    is what Hive itself reads.
    """
    jars = pyspark_home() / "jars"
    work = cluster_conf_dir(settings) / "schema"
    work.mkdir(parents=True, exist_ok=True)
    (metastore_jar,) = jars.glob("hive-metastore-*.jar")
    with zipfile.ZipFile(metastore_jar) as archive:
        mapping = Path(archive.extract("package.jdo", work))
    url, user, password = metastore_login(settings)
    props = work / "datanucleus.properties"
    _write_private(
        props,
        properties_text({**schema_tool_properties(url, user), "datanucleus.ConnectionPassword": password}),
    )
    classpath = f"{jars}/*:{maven_jar(settings, POSTGRES_JDBC_PACKAGE)}"
    command = [_java(), "-cp", classpath, "org.datanucleus.store.schema.SchemaTool"]
    command += ["-create", "-api", "JDO", "-props", str(props), str(mapping)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        props.unlink(missing_ok=True)
    if result.returncode != 0 or not metastore_has_schema(settings):
        raise ServiceError(f"could not create the Hive metastore schema:\n{(result.stdout + result.stderr)[-3000:]}")


# --- jars ------------------------------------------------------------------
def ensure_jdbc_driver(settings: Settings) -> Path:
    """The PostgreSQL JDBC jar in the Ivy cache every Spark home shares; resolved once if missing.

    Spark's own resolution (spark-submit --packages) fetches it, so it lands where local mode's
    sessions put it, under the same name; the empty Python application ends at once.
    """
    jar = maven_jar(settings, POSTGRES_JDBC_PACKAGE)
    if jar.is_file():
        return jar
    script = cluster_conf_dir(settings) / "resolve_packages.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("# Empty: spark-submit resolves --packages before it runs this.\n")
    command = [str(pyspark_home() / "bin" / "spark-submit"), "--master", "local[1]"]
    command += ["--packages", POSTGRES_JDBC_PACKAGE, "--conf", f"spark.jars.ivy={settings.spark_packages_dir}"]
    env = {**_spark_env(settings), "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run([*command, str(script)], capture_output=True, text=True, env=env, check=False)
    if not jar.is_file():
        raise ServiceError(f"could not fetch {POSTGRES_JDBC_PACKAGE}:\n{(result.stdout + result.stderr)[-3000:]}")
    return jar


def _java() -> str:
    path = shutil.which("java")
    if path is None:
        raise ServiceError("Java not found: Spark needs a JDK 17 (`sudo apt-get install openjdk-17-jdk-headless`)")
    return path


# --- processes ---------------------------------------------------------------
def _spark_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "SPARK_HOME": str(pyspark_home()),
        "SPARK_CONF_DIR": str(cluster_conf_dir(settings)),
        "SPARK_LOCAL_IP": LOCAL_HOST,
        "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
    }


def commands(settings: Settings) -> dict[Process, list[str]]:
    """The command line of each process; every one binds to 127.0.0.1 only."""
    bin_dir = pyspark_home() / "bin"
    spark_class = str(bin_dir / "spark-class")
    return {
        MASTER: [
            spark_class, MASTER.main_class, "--host", LOCAL_HOST, "--port", str(settings.spark_master_port),
            "--webui-port", str(settings.spark_master_ui_port),
        ],
        WORKER: [
            spark_class, WORKER.main_class, settings.spark_master_url, "--host", LOCAL_HOST,
            "--cores", str(settings.spark_worker_cores), "--memory", settings.spark_worker_memory,
            "--webui-port", str(settings.spark_worker_ui_port),
            "--work-dir", str(settings.spark_cluster_home / "work"),
        ],
        THRIFT: [
            str(bin_dir / "spark-submit"), "--class", THRIFT_SERVER_CLASS, "--name", "lendflow-thrift",
            "spark-internal",
            "--hiveconf", f"hive.server2.thrift.bind.host={LOCAL_HOST}",
            "--hiveconf", f"hive.server2.thrift.port={settings.spark_thrift_port}",
        ],
    }  # fmt: skip


def master_state(settings: Settings, timeout: float = 2.0) -> dict[str, Any] | None:
    """The master's own account of the cluster (its UI's /json/), or None while it cannot answer."""
    url = f"http://{LOCAL_HOST}:{settings.spark_master_ui_port}/json/"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            state: dict[str, Any] = json.load(response)
            return state
    except (OSError, ValueError):
        return None


def alive_workers(state: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [worker for worker in (state or {}).get("workers", []) if worker.get("state") == "ALIVE"]


def _ports(settings: Settings) -> dict[Process, int]:
    return {
        MASTER: settings.spark_master_port,
        WORKER: settings.spark_worker_ui_port,
        THRIFT: settings.spark_thrift_port,
    }


def _ready(settings: Settings, process: Process, pid: int) -> bool:
    if not pid_alive(pid):
        raise ServiceError(f"{process.daemon.name} exited during startup")
    if process is THRIFT:
        return port_is_open(LOCAL_HOST, settings.spark_thrift_port)
    state = master_state(settings)
    if process is MASTER:
        return state is not None and state.get("status") == "ALIVE"
    return bool(alive_workers(state))


def write_conf(settings: Settings) -> None:
    """spark-defaults.conf and hive-site.xml, rewritten on each start so they follow settings."""
    directory = cluster_conf_dir(settings)
    url, user, password = metastore_login(settings)
    _write_private(directory / "spark-defaults.conf", properties_text(cluster_conf(settings)))
    _write_private(directory / "hive-site.xml", hadoop_xml(metastore_properties(url, user, password)))
    for sub in ("warehouse", "work", "tmp"):
        (settings.spark_cluster_home / sub).mkdir(parents=True, exist_ok=True)


def start(settings: Settings) -> None:
    """Start whatever of the cluster is not running yet; a no-op when spark_thrift points elsewhere."""
    if not settings.spark_thrift_is_local:
        return
    with start_lock(settings, NAME):  # one cluster, one creation of the metastore schema
        _start_locked(settings)


def _start_locked(settings: Settings) -> None:
    """The JVMs start while the metastore is prepared: the master and the worker need none of it
    (a worker retries its master until it answers), only the Thrift server does."""
    _java()
    ensure_metastore_database(settings)
    ensure_jdbc_driver(settings)
    write_conf(settings)
    env = _spark_env(settings)
    command = commands(settings)
    pids: dict[Process, int] = {}
    process = MASTER  # the one whose log an error shows
    try:
        for process in (MASTER, WORKER):
            pids[process] = _spawn(settings, process, command[process], env)
        if not metastore_has_schema(settings):
            create_metastore_schema(settings)
        for process in (MASTER, WORKER):
            _wait_ready(settings, process, pids[process])
        process = THRIFT
        _wait_ready(settings, THRIFT, _spawn(settings, THRIFT, command[THRIFT], env))
    except ServiceError as error:
        stop(settings)  # leave nothing half-started behind
        log = process.daemon.log_file(settings)
        raise ServiceError(f"{error}\n--- {log} ---\n{tail(log, 40)}") from error


def _spawn(settings: Settings, process: Process, command: list[str], env: dict[str, str]) -> int:
    """Start process unless it runs; its pid either way."""
    pid = process.pid(settings)
    if pid is not None:
        return pid
    port = _ports(settings)[process]
    if port_is_open(LOCAL_HOST, port):
        raise ServiceError(f"port {port} is taken by another process, not lendflow's {process.daemon.name}")
    return spawn_detached(command, process.daemon.log_file(settings), process.daemon.pid_file(settings), env)


def _wait_ready(settings: Settings, process: Process, pid: int) -> None:
    """Wait until process serves: the master and the worker say so on its /json/, the Thrift server listens."""
    wait_until(lambda: _ready(settings, process, pid), START_TIMEOUT, process.daemon.name, 1.0)


def stop(settings: Settings) -> None:
    """Stop the Thrift server, the worker (and its executors, in its process group), then the master."""
    for process in reversed(PROCESSES):
        pid = process.pid(settings)
        if pid is not None:
            terminate(pid, timeout=30.0)
            if pid_alive(pid):
                raise ServiceError(f"{process.daemon.name} (pid {pid}) did not stop")
        process.daemon.pid_file(settings).unlink(missing_ok=True)


def status(settings: Settings) -> ServiceStatus:
    """Running when all three processes are; the detail names the master UI and the worker."""
    address = f"thrift://{settings.spark_thrift_address}"
    if not settings.spark_thrift_is_local:
        ok = port_is_open(settings.spark_thrift_host, settings.spark_thrift_port, timeout=3.0)
        return ServiceStatus(NAME, ok, address, "" if ok else "not reachable", external=True)
    pids = {process.daemon.name: process.pid(settings) for process in PROCESSES}
    if not any(pids.values()):
        return ServiceStatus(NAME, False, address, "not running")
    workers = alive_workers(master_state(settings, timeout=1.0))
    detail = [f"master UI http://{LOCAL_HOST}:{settings.spark_master_ui_port}"]
    detail += [f"worker {w['host']}:{w['port']} ({w['cores']} cores, {w['memory']} MiB)" for w in workers]
    detail += [f"{name} not running" for name, pid in pids.items() if pid is None]
    running = all(pids.values()) and bool(workers) and port_is_open(LOCAL_HOST, settings.spark_thrift_port)
    return ServiceStatus(NAME, running, address, "; ".join(detail))
