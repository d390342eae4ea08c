"""Spark's configuration, in one place, and the session factory every Spark job uses.

Two places to run, named after dbt's targets (Settings.spark_target): `spark`, local mode
inside the process, nothing to keep running; `spark_thrift`, the cluster whose Thrift server
dbt reaches (lendflow/services/spark_cluster.py starts a local one). :func:`session` is the
one place that tells them apart, so staging, the Python steps, the questions and the encoders
run unchanged on either.

In local mode the warehouse and the Derby metastore live under LENDFLOW_SPARK_HOME (default
LENDFLOW_HOME/spark), so every process that uses the same home sees the same catalog (and a
different home gets its own: the tests use one per run, since two JVMs on one Derby
metastore collide). Packages from Maven Central are resolved by Ivy into a cache under
LENDFLOW_HOME that every Spark home shares, so they are downloaded once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from lendflow.services.base import ServiceError, ServiceStatus, port_is_open
from lendflow.settings import LOCAL_HOST, Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Maven Central has no Spark 4.3.0 artifacts yet (pyspark 4.3.0 ships its own jars), so the
# connectors are pinned to the newest published Spark line, 4.2, whose public APIs 4.3 keeps.
# Delta Lake is not used: delta-spark 4.4.0 (built for Spark 4.2) fails on MERGE under 4.3
# (NoSuchMethodError in LogicalRDD); see dbt_project/macros/spark/ for how merge is done.
KAFKA_PACKAGE = "org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0"
POSTGRES_JDBC_PACKAGE = "org.postgresql:postgresql:42.7.4"
# Its jar's SHA-256 (Maven Central's file, as Ivy caches it): the compose stack checks what it downloads.
POSTGRES_JDBC_SHA256 = "188976721ead8e8627eb6d8389d500dccc0c9bebd885268a3047180274a6031e"
ALL_PACKAGES = (KAFKA_PACKAGE, POSTGRES_JDBC_PACKAGE)


# The session settings the answers depend on, for every way of reaching Spark (our sessions,
# dbt's session and Thrift targets): with them Spark's answers equal PostgreSQL's.
ANSWER_CONF: dict[str, str] = {
    # dbt-spark forces ANSI off; our own sessions do the same so both engines agree on casts.
    "spark.sql.ansi.enabled": "false",
    # Session time zone fixed, so dates and timestamps print the same everywhere.
    "spark.sql.session.timeZone": "UTC",
    # Null for an impossible date ('31 February') rather than an error, and the last value for
    # a repeated JSON key: PostgreSQL's behaviour on the same dirty text.
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    "spark.sql.mapKeyDedupPolicy": "LAST_WIN",
}

# What every Spark application of lendflow sets, in local mode and on the cluster alike.
APPLICATION_CONF: dict[str, str] = {
    # Four partitions suit a sample on a laptop; Spark's 200 would be 200 tiny tasks per shuffle.
    "spark.sql.shuffle.partitions": "4",
    # No driver UI: it would take port 4040 (or the next free one) for every application.
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # The raw tables have a partition per landed file; the metastore can refuse a filter on the
    # partition column (Derby does on a checksum list): then list the partitions and prune them
    # here, a list as long as the files landed, instead of failing the query.
    "spark.sql.hive.metastorePartitionPruningFallbackOnException": "true",
    **ANSWER_CONF,
}


def spark_conf(settings: Settings) -> dict[str, str]:
    """Local mode on the lendflow catalog: our SparkSessions and dbt-spark's session target.

    dbt reads it from DBT_SPARK_SESSION_CONF (lendflow/dbt.py sets it; profiles/profiles.yml), so
    dbt and spark_jobs/ share one catalog and one configuration.
    """
    return {
        "spark.master": "local[2]",
        # Local mode runs everything in the driver; the default 1g is too little for a million loans.
        "spark.driver.memory": "4g",
        "spark.sql.warehouse.dir": str(settings.spark_warehouse_dir),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={settings.spark_metastore_dir}",
        **APPLICATION_CONF,
    }


def standalone_conf(master_url: str, worker_cores: int, warehouse_dir: str, jdbc_driver_jar: str) -> dict[str, str]:
    """What every application on a standalone cluster of lendflow's sets: the local one
    (:func:`cluster_conf`) and docker-compose.yml's (:func:`compose_spark_defaults`) alike.

    A Hive catalog whose metastore lives in PostgreSQL (hive-site.xml beside it,
    :func:`metastore_properties`), so several JVMs share it.
    """
    return {
        "spark.master": master_url,
        "spark.driver.memory": "1g",
        # An application takes at most half the worker (the default is all of it, for as long as it
        # runs): the Thrift server never releases its executors, and a job submitted beside it
        # (Spark staging) would wait for cores forever.
        "spark.cores.max": str(max(1, worker_cores // 2)),
        "spark.executor.memory": "1g",
        "spark.sql.warehouse.dir": warehouse_dir,
        "spark.sql.catalogImplementation": "hive",
        # The metastore's JDBC driver must be on the driver's own classpath: Hive's client
        # looks drivers up through DriverManager, which ignores jars that --packages adds later.
        "spark.driver.extraClassPath": jdbc_driver_jar,
        # Only the RPC port: no REST submission server (port 6066) to guard.
        "spark.master.rest.enabled": "false",
        **APPLICATION_CONF,
    }


def cluster_conf_dir(settings: Settings) -> Path:
    """The local cluster's SPARK_CONF_DIR: spark-defaults.conf and hive-site.xml (spark_cluster.write_conf)."""
    return settings.spark_cluster_home / "conf"


def cluster_conf(settings: Settings) -> dict[str, str]:
    """The local standalone cluster (lendflow/services/spark_cluster.py): its spark-defaults.conf.

    Its master and worker read it, and so does every application submitted to it (the Thrift
    server first) through SPARK_CONF_DIR.
    """
    return {
        **standalone_conf(
            settings.spark_master_url,
            settings.spark_worker_cores,
            str(settings.spark_cluster_home / "warehouse"),
            str(maven_jar(settings, POSTGRES_JDBC_PACKAGE)),
        ),
        # Drivers listen on loopback only, like the cluster (else Spark picks the first interface's address).
        "spark.driver.host": LOCAL_HOST,
        "spark.driver.bindAddress": LOCAL_HOST,
        "spark.jars.ivy": str(settings.spark_packages_dir),
        "spark.local.dir": str(settings.spark_cluster_home / "tmp"),
    }


# --- docker-compose.yml's cluster -------------------------------------------------------------
# The apache/spark image runs Spark from /opt/spark as the user `spark`; its WORKDIR,
# /opt/spark/work-dir, is writable by that user and holds the `spark-data` volume, which every
# Spark container mounts: the warehouse and the metastore's JDBC driver are there.
COMPOSE_MASTER_URL = "spark://spark-master:7077"
COMPOSE_WORK_DIR = "/opt/spark/work-dir"
COMPOSE_METASTORE_DB = "spark_metastore"  # a database and the role that owns it, in the stack's PostgreSQL
# Hadoop's Configuration (hive-site.xml) reads `${env.NAME}` from the environment: no password in the file.
COMPOSE_METASTORE_PASSWORD_VARIABLE = "SPARK_METASTORE_PASSWORD"


def compose_jdbc_driver_jar() -> str:
    """Where the stack's spark-metastore-init job puts the PostgreSQL JDBC driver."""
    return f"{COMPOSE_WORK_DIR}/jars/{maven_jar_name(POSTGRES_JDBC_PACKAGE)}"


def compose_spark_defaults() -> dict[str, str]:
    """docker-compose.yml's cluster: its spark-defaults.conf, sized as the local cluster's default.

    The drivers keep Spark's default address (the container's), which the worker's executors reach.
    """
    return standalone_conf(
        COMPOSE_MASTER_URL, Settings.spark_worker_cores, f"{COMPOSE_WORK_DIR}/warehouse", compose_jdbc_driver_jar()
    )


def compose_metastore_login() -> tuple[str, str, str]:
    """(JDBC URL, user, password) of the stack's metastore; the password as Hadoop reads it from the environment."""
    jdbc_url = f"jdbc:postgresql://postgres:5432/{COMPOSE_METASTORE_DB}"
    return jdbc_url, COMPOSE_METASTORE_DB, "${env." + COMPOSE_METASTORE_PASSWORD_VARIABLE + "}"


def metastore_properties(jdbc_url: str, user: str, password: str) -> dict[str, str]:
    """hive-site.xml of the cluster: Hive's metastore in a PostgreSQL database.

    The schema is created once, in one go, before any Spark process uses it
    (spark_cluster.py); DataNucleus's lazy `autoCreateAll` deadlocks on PostgreSQL, where one
    connection adds a foreign key to TBLS while another holds a transaction that inserted into it.
    """
    return {
        "javax.jdo.option.ConnectionURL": jdbc_url,
        "javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
        "javax.jdo.option.ConnectionUserName": user,
        "javax.jdo.option.ConnectionPassword": password,
        "datanucleus.schema.autoCreateAll": "false",
        # The schema comes from DataNucleus's SchemaTool, which writes no version row to check.
        "hive.metastore.schema.verification": "false",
    }


def schema_tool_properties(jdbc_url: str, user: str) -> dict[str, str]:
    """DataNucleus SchemaTool's connection to the metastore (its password is added where it runs).

    `datanucleus1` is the identifier style Hive names its tables with.
    """
    return {
        "datanucleus.ConnectionDriverName": "org.postgresql.Driver",
        "datanucleus.ConnectionURL": jdbc_url,
        "datanucleus.ConnectionUserName": user,
        "datanucleus.identifierFactory": "datanucleus1",
    }


def maven_jar_name(coordinate: str) -> str:
    """The file name Spark's Ivy resolution gives the jar of `group:artifact:version`."""
    group, artifact, version = coordinate.split(":")
    return f"{group}_{artifact}-{version}.jar"


def maven_jar(settings: Settings, coordinate: str) -> Path:
    """Where Spark's Ivy resolution of `group:artifact:version` leaves its jar in the shared cache."""
    return settings.spark_packages_dir / "jars" / maven_jar_name(coordinate)


def maven_central_url(coordinate: str) -> str:
    group, artifact, version = coordinate.split(":")
    return f"https://repo1.maven.org/maven2/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"


def session(settings: Settings, packages: Iterable[str] = ALL_PACKAGES, app_name: str = "lendflow") -> SparkSession:
    """A SparkSession on the catalog of settings.spark_target, created once per process: local
    mode's (Hive metastore in Derby) or the cluster's (its master, its metastore in PostgreSQL).

    `packages` only count when the JVM starts: the first call in a process decides them.
    """
    from pyspark.sql import SparkSession

    conf = application_session_conf(settings)
    packages = list(packages)
    if packages:
        conf["spark.jars.packages"] = ",".join(packages)
        conf["spark.jars.ivy"] = str(settings.spark_packages_dir)
    builder = SparkSession.builder.appName(app_name).enableHiveSupport()
    for key, value in conf.items():
        builder = builder.config(key, value)
    with _launch_environment(settings):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # py4j logs each connection it opens and closes at INFO; the last close runs at interpreter
    # exit, after logging's streams are closed, and prints a "--- Logging error ---" traceback.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    return spark


def application_session_conf(settings: Settings) -> dict[str, str]:
    """What a lendflow application sets where it runs; checks that it can run there first."""
    if not settings.spark_on_cluster:
        start(settings)
        return spark_conf(settings)
    master = urlsplit(settings.spark_master_url)
    if not port_is_open(master.hostname or LOCAL_HOST, master.port or 7077, timeout=3.0):
        hint = "start it with `lendflow up -s spark-cluster`" if settings.spark_thrift_is_local else "is it running?"
        raise ServiceError(f"the Spark master at {settings.spark_master_url} does not answer: {hint}")
    # The executors run the jobs' Python (the Python steps' functions) with this interpreter.
    python = {"spark.pyspark.python": sys.executable}
    if settings.spark_thrift_is_local:
        return {**cluster_conf(settings), **python}
    # Another cluster: its own SPARK_CONF_DIR (hive-site.xml, warehouse) completes this.
    return {"spark.master": settings.spark_master_url, **APPLICATION_CONF, **python}


@contextlib.contextmanager
def _launch_environment(settings: Settings) -> Iterator[None]:
    """On the local cluster, the driver JVM starts with the cluster's SPARK_CONF_DIR: its
    hive-site.xml (the metastore's login, kept out of command lines) is read from there."""
    if not (settings.spark_on_cluster and settings.spark_thrift_is_local):
        yield
        return
    saved = os.environ.get("SPARK_CONF_DIR")
    os.environ["SPARK_CONF_DIR"] = str(cluster_conf_dir(settings))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SPARK_CONF_DIR", None)
        else:
            os.environ["SPARK_CONF_DIR"] = saved


def start(settings: Settings) -> None:
    if shutil.which("java") is None:
        raise ServiceError("Java not found: Spark needs a JDK 17 (`sudo apt-get install openjdk-17-jdk-headless`)")
    settings.spark_warehouse_dir.mkdir(parents=True, exist_ok=True)
    settings.spark_metastore_dir.mkdir(parents=True, exist_ok=True)


def stop(settings: Settings) -> None:
    """Local mode runs inside the processes that use it; there is nothing to stop."""


def status(settings: Settings) -> ServiceStatus:
    ready = settings.spark_warehouse_dir.is_dir() and shutil.which("java") is not None
    return ServiceStatus("spark", ready, "local[2]", detail=f"warehouse: {settings.spark_warehouse_dir}")
