"""The dashboard as a background service: what `make run` leaves serving.

`lendflow dashboard` serves in the foreground; this starts the same command detached,
with a pid file and a log like the other local services, so `lendflow down` stops it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lendflow.services.base import (
    Daemon,
    ServiceError,
    ServiceStatus,
    port_is_open,
    spawn_detached,
    tail,
    terminate,
    wait_until,
)
from lendflow.settings import LOCAL_HOST, Settings

DAEMON = Daemon("dashboard")


def address(settings: Settings) -> str:
    return f"http://{LOCAL_HOST}:{settings.dashboard_port}/"


def start(settings: Settings) -> None:
    """Serve the dashboard in the background (idempotent); wait until it answers."""
    if DAEMON.pid(settings) is not None:
        return
    if port_is_open(LOCAL_HOST, settings.dashboard_port):
        raise ServiceError(
            f"port {settings.dashboard_port} is taken by another process; stop it or set LENDFLOW_DASHBOARD_PORT"
        )
    lendflow = Path(sys.executable).parent / "lendflow"
    pid = spawn_detached([str(lendflow), "dashboard"], DAEMON.log_file(settings), DAEMON.pid_file(settings))
    try:
        wait_until(lambda: port_is_open(LOCAL_HOST, settings.dashboard_port), 60, "the dashboard to listen")
    except ServiceError as error:
        terminate(pid)
        raise ServiceError(f"{error}\n{tail(DAEMON.log_file(settings))}") from error


def stop(settings: Settings) -> None:
    DAEMON.stop(settings)


def status(settings: Settings) -> ServiceStatus:
    running = DAEMON.pid(settings) is not None
    return ServiceStatus("dashboard", running, address(settings), detail=f"log: {DAEMON.log_file(settings)}")
