"""All local services at once: what `lendflow up | down | status` drive."""

from __future__ import annotations

from types import ModuleType

from lendflow.services import airflow, dashboard, kafka, postgres, spark, spark_cluster
from lendflow.services.base import ServiceError, ServiceStatus
from lendflow.settings import Settings

SERVICES: dict[str, ModuleType] = {
    "postgres": postgres,
    "kafka": kafka,
    "spark": spark,
    # A standalone master, worker and Thrift server: only on request (`up -s spark-cluster`).
    "spark-cluster": spark_cluster,
    "airflow": airflow,  # the Airflow UI (API server) over the DAG runs recorded locally
    "dashboard": dashboard,
}
# The dashboard needs built marts, so a bare `up` leaves it to `lendflow run` (or `up -s dashboard`).
STARTED_BY_UP = ("postgres", "kafka", "spark", "airflow")


def _known(names: list[str]) -> list[str]:
    unknown = [name for name in names if name not in SERVICES]
    if unknown:
        raise ServiceError(f"unknown service {', '.join(unknown)}; choose from {', '.join(SERVICES)}")
    return names


def up(settings: Settings, names: list[str] | None = None) -> None:
    for name in _known(names or list(STARTED_BY_UP)):
        SERVICES[name].start(settings)


def down(settings: Settings, names: list[str] | None = None) -> None:
    # Stop in reverse order of start: the dashboard and the Airflow UI before the database.
    for name in reversed(_known(names or list(SERVICES))):
        SERVICES[name].stop(settings)


def statuses(settings: Settings) -> list[ServiceStatus]:
    return [service.status(settings) for service in SERVICES.values()]
