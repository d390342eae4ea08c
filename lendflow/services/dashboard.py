"""The dashboard as a background service: what `make run` leaves serving.

`lendflow dashboard` serves in the foreground; this starts the same command detached,
with a pid file and a log like the other local services, so `lendflow down` stops it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lendflow.services.base import (
    ServiceError,
    ServiceStatus,
    port_is_open,
    read_pid,
    spawn_detached,
    tail,
    terminate,
    wait_until,
)
from lendflow.settings import LOCAL_HOST, Settings


def _pid_file(settings: Settings) -> Path:
    return settings.run_dir / "dashboard.pid"


def _log_file(settings: Settings) -> Path:
    return settings.logs_dir / "dashboard.log"


def address(settings: Settings) -> str:
    return f"http://{LOCAL_HOST}:{settings.dashboard_port}/"


def start(settings: Settings) -> None:
    """Serve the dashboard in the background (idempotent); wait until it answers."""
    if read_pid(_pid_file(settings)) is not None:
        return
    if port_is_open(LOCAL_HOST, settings.dashboard_port):
        raise ServiceError(
            f"port {settings.dashboard_port} is taken by another process; stop it or set LENDFLOW_DASHBOARD_PORT"
        )
    lendflow = Path(sys.executable).parent / "lendflow"
    pid = spawn_detached([str(lendflow), "dashboard"], _log_file(settings), _pid_file(settings))
    try:
        wait_until(lambda: port_is_open(LOCAL_HOST, settings.dashboard_port), 60, "the dashboard to listen")
    except ServiceError as error:
        terminate(pid)
        raise ServiceError(f"{error}\n{tail(_log_file(settings))}") from error


def stop(settings: Settings) -> None:
    pid = read_pid(_pid_file(settings))
    if pid is not None:
        terminate(pid)
    _pid_file(settings).unlink(missing_ok=True)


def status(settings: Settings) -> ServiceStatus:
    running = read_pid(_pid_file(settings)) is not None
    return ServiceStatus("dashboard", running, address(settings), detail=f"log: {_log_file(settings)}")
