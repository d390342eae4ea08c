"""The local Spark cluster (`lendflow up -s spark-cluster`) against the real JVMs and PostgreSQL.

The suite's one cluster (tests/conftest.py's local_cluster, in a home of its own on free ports;
tests/integration/test_cluster_warehouse.py builds the warehouse on it first): the worker registers with the
master, dbt's spark_thrift target reaches the Thrift server, a table written through it is
recorded in the PostgreSQL metastore, `status` names the master UI, the worker and the Thrift
address, and `down` leaves no JVM behind.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from pyhive import hive

from lendflow.db import connect_dsn
from lendflow.dbt import run_dbt
from lendflow.services import spark_cluster
from lendflow.settings import LOCAL_HOST, Settings

pytestmark = [pytest.mark.spark, pytest.mark.postgres, pytest.mark.slow]


def cluster_jvms(settings: Settings) -> set[psutil.Process]:
    """Every process whose command line names this cluster's folders, and their children (executors)."""
    marker = str(settings.spark_cluster_home)
    found = set()
    for process in psutil.process_iter(["cmdline"]):
        if any(marker in part for part in process.info["cmdline"] or ()):
            found |= {process, *process.children(recursive=True)}
    return found


@pytest.fixture(scope="module")
def cluster(local_cluster: Settings) -> Settings:
    return local_cluster


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
    assert ("cluster_probe",) in tables
    assert (cluster.spark_cluster_home / "warehouse" / "cluster_probe").is_dir()


def test_down_leaves_no_jvm_behind(cluster: Settings) -> None:
    # Last in the module, and the last user of the suite's cluster (modules run in name order):
    # it stops the cluster the fixture started.
    running = cluster_jvms(cluster)
    assert len(running) >= 4, running  # master, worker, Thrift server, and an executor of the worker
    spark_cluster.stop(cluster)
    _, alive = psutil.wait_procs(running, timeout=10)
    assert alive == [], [process.cmdline()[-3:] for process in alive]
    assert cluster_jvms(cluster) == set()
    assert not spark_cluster.status(cluster).running
