"""All local services at once: what `lendflow up | down | status` drive."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from lendflow.services import kafka, postgres, spark
from lendflow.services.base import ServiceStatus
from lendflow.settings import Settings

SERVICES: dict[str, ModuleType] = {"postgres": postgres, "kafka": kafka, "spark": spark}


def _each(names: list[str] | None, action: Callable[[ModuleType], None]) -> None:
    for name in names or list(SERVICES):
        action(SERVICES[name])


def up(settings: Settings, names: list[str] | None = None) -> None:
    _each(names, lambda service: service.start(settings))


def down(settings: Settings, names: list[str] | None = None) -> None:
    # Stop in reverse order of start.
    for name in reversed(names or list(SERVICES)):
        SERVICES[name].stop(settings)


def statuses(settings: Settings) -> list[ServiceStatus]:
    return [service.status(settings) for service in SERVICES.values()]
