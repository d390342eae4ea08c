"""Where a Spark job runs: one setting (LENDFLOW_SPARK_TARGET), told apart in one place
(lendflow/services/spark.py's application_session_conf). Real sockets stand for the master."""

from __future__ import annotations

import dataclasses
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lendflow import settings as config
from lendflow.services.base import ServiceError, free_port
from lendflow.services.spark import APPLICATION_CONF, application_session_conf, cluster_conf


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port a real socket listens on, as a running master's does."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


def test_local_mode_runs_in_the_process_on_the_local_catalog(tmp_path: Path) -> None:
    settings = dataclasses.replace(config.load(), spark_home_override=tmp_path / "spark", spark_target="spark")
    conf = application_session_conf(settings)
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path / "spark" / "warehouse")
    assert settings.spark_checkpoints_dir == tmp_path / "spark" / "checkpoints"


def test_on_the_local_cluster_a_job_is_submitted_to_its_master(tmp_path: Path, listening_port: int) -> None:
    settings = dataclasses.replace(
        config.load(), spark_home_override=tmp_path / "spark", spark_master_port=listening_port
    ).on_target("spark_thrift")
    conf = application_session_conf(settings)
    assert conf == {**cluster_conf(settings), "spark.pyspark.python": sys.executable}
    assert conf["spark.master"] == f"spark://127.0.0.1:{listening_port}"
    # The cluster's catalog is not local mode's: nor are the offsets landed into it.
    assert settings.spark_checkpoints_dir == tmp_path / "spark" / "cluster" / "checkpoints"


def test_another_cluster_gets_its_master_and_the_answer_settings_only(listening_port: int) -> None:
    settings = dataclasses.replace(
        config.load(),
        spark_thrift_host="thrift.example",
        spark_master_override=f"spark://127.0.0.1:{listening_port}",
        spark_target="spark_thrift",
    )
    conf = application_session_conf(settings)
    assert conf == {
        "spark.master": f"spark://127.0.0.1:{listening_port}",
        **APPLICATION_CONF,
        "spark.pyspark.python": sys.executable,
    }


def test_a_cluster_that_does_not_answer_is_named_with_how_to_start_it() -> None:
    settings = dataclasses.replace(config.load(), spark_master_port=free_port(), spark_target="spark_thrift")
    with pytest.raises(ServiceError, match=r"does not answer: start it with `lendflow up -s spark-cluster`"):
        application_session_conf(settings)
