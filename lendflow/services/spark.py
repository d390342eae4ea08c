"""Spark in local mode: nothing to keep running, only folders and a session factory.

The warehouse and the Derby metastore live under LENDFLOW_HOME, so every process that
uses the same home sees the same catalog (and a different home gets its own).
"""

from __future__ import annotations

import shutil

from lendflow.services.base import ServiceError, ServiceStatus
from lendflow.settings import Settings


def spark_conf(settings: Settings) -> dict[str, str]:
    """Settings shared by our SparkSessions and dbt-spark's session target."""
    return {
        "spark.master": "local[2]",
        "spark.sql.warehouse.dir": str(settings.spark_warehouse_dir),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={settings.spark_metastore_dir}",
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
    }


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
