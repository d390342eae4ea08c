"""The local Spark cluster (`lendflow up -s spark-cluster`) against the real JVMs and PostgreSQL.

One cluster, started in a home of its own on free ports: the worker registers with the
master, dbt's spark_thrift target reaches the Thrift server, a table written through it is
recorded in the PostgreSQL metastore, `status` names the master UI, the worker and the Thrift
address, and `down` leaves no JVM behind.
"""

from __future__ import annotations

import dataclasses
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from psycopg import sql
from pyhive import hive

from lendflow.db import connect_dsn, maintenance_dsn
from lendflow.dbt import run_dbt
from lendflow.services import spark_cluster
from lendflow.settings import LOCAL_HOST, Settings

pytestmark = [pytest.mark.spark, pytest.mark.postgres, pytest.mark.slow]


def free_port(pairs: bool = False) -> int:
    """A port nobody listens on now (and the next one too, when pairs: the worker's UI).

    Below 32768, outside the range Linux hands to outgoing connections, so no client socket of
    the suite takes it between this check and the server's bind (see tests/conftest.py).
    """
    while True:
        port = random.randrange(20_000, 32_000)
        if all(can_bind(candidate) for candidate in (port, port + 1)[: 2 if pairs else 1]):
            return port


def can_bind(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((LOCAL_HOST, port))
        except OSError:
            return False
    return True


def drop_metastore(settings: Settings) -> None:
    """A fresh catalog each run: the tables of an earlier run point at its deleted folders."""
    with connect_dsn(maintenance_dsn(settings), autocommit=True) as conn:
        name = sql.Identifier(settings.spark_metastore_db)
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(name))


def cluster_jvms(settings: Settings) -> set[psutil.Process]:
    """Every process whose command line names this cluster's folders, and their children (executors)."""
    marker = str(settings.spark_cluster_home)
    found = set()
    for process in psutil.process_iter(["cmdline"]):
        if any(marker in part for part in process.info["cmdline"] or ()):
            found |= {process, *process.children(recursive=True)}
    return found


@pytest.fixture(scope="module")
def cluster(postgres: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    home = tmp_path_factory.mktemp("cluster_home")
    # Spark's Ivy cache is shared by every home: the JDBC driver is not fetched again.
    (home / "spark-packages").symlink_to(postgres.spark_packages_dir, target_is_directory=True)
    settings = dataclasses.replace(
        postgres,
        home=home,
        pg_dsn_override=postgres.pg_dsn,  # the running server, whose password lives in the usual home
        spark_home_override=home / "spark",
        spark_master_port=free_port(),
        spark_master_ui_port=free_port(pairs=True),
        spark_thrift_host=LOCAL_HOST,
        spark_thrift_port=free_port(),
    )
    drop_metastore(settings)
    try:
        spark_cluster.start(settings)
        yield settings
    finally:
        spark_cluster.stop(settings)


def test_the_worker_registers_with_the_master(cluster: Settings) -> None:
    workers = spark_cluster.alive_workers(spark_cluster.master_state(cluster))
    assert [(worker["host"], worker["cores"]) for worker in workers] == [(LOCAL_HOST, cluster.spark_worker_cores)]
    status = spark_cluster.status(cluster)
    assert status.running, status
    assert status.address == f"thrift://{LOCAL_HOST}:{cluster.spark_thrift_port}"
    assert f"master UI http://{LOCAL_HOST}:{cluster.spark_master_ui_port}" in status.detail
    assert f"worker {LOCAL_HOST}:" in status.detail


def test_every_process_of_the_cluster_listens_on_loopback_only(cluster: Settings) -> None:
    listening = {
        (process.pid, connection.laddr.ip.removeprefix("::ffff:"), connection.laddr.port)  # IPv4 in IPv6 form
        for process in cluster_jvms(cluster)
        for connection in process.net_connections(kind="tcp")
        if connection.status == psutil.CONN_LISTEN
    }
    ports = {port for _, _, port in listening}
    assert {cluster.spark_master_port, cluster.spark_master_ui_port, cluster.spark_thrift_port} <= ports
    assert {ip for _, ip, _ in listening} == {LOCAL_HOST}, listening


def test_the_thrift_server_leaves_half_the_worker_to_other_jobs(cluster: Settings) -> None:
    # It holds its executors as long as it runs: with every core, a job submitted beside it
    # (Spark staging) would wait forever.
    apps = spark_cluster.master_state(cluster)["activeapps"]  # type: ignore[index]
    assert [(app["name"], app["cores"]) for app in apps] == [("lendflow-thrift", cluster.spark_worker_cores // 2)]


def test_dbt_reaches_the_thrift_server(cluster: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))  # not the project's, others build there
    run_dbt(["debug"], cluster, target="spark_thrift")  # raises DbtError unless the connection test passes


def test_a_table_written_through_thrift_is_in_the_postgres_metastore(cluster: Settings) -> None:
    with hive.connect(host=LOCAL_HOST, port=cluster.spark_thrift_port, username="lendflow") as conn:
        cursor = conn.cursor()
        cursor.execute("create table cluster_probe (loan_id int, amount double) using parquet")
        cursor.execute("insert into cluster_probe values (1, 1000.0), (2, 2500.5)")
        cursor.execute("select count(*), sum(amount) from cluster_probe")
        assert cursor.fetchall() == [(2, 3500.5)]
    with connect_dsn(spark_cluster.metastore_dsn(cluster)) as conn:
        tables = conn.execute('select "TBL_NAME" from "TBLS"').fetchall()
    assert tables == [("cluster_probe",)]
    assert (cluster.spark_cluster_home / "warehouse" / "cluster_probe").is_dir()


def test_down_leaves_no_jvm_behind(cluster: Settings) -> None:
    # Last in the module: it stops the cluster the fixture started.
    running = cluster_jvms(cluster)
    assert len(running) >= 4, running  # master, worker, Thrift server, and an executor of the worker
    spark_cluster.stop(cluster)
    _, alive = psutil.wait_procs(running, timeout=10)
    assert alive == [], [process.cmdline()[-3:] for process in alive]
    assert cluster_jvms(cluster) == set()
    assert not spark_cluster.status(cluster).running
