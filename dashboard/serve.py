"""Serving the dashboard in production: gunicorn (a real WSGI server), debug off.

Debug mode (Dash's dev server with the Werkzeug debugger) is only ever used when asked for
*and* allowed by dashboard.serving_policy; everything else goes through gunicorn.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication

from dashboard.serving_policy import check_debug_allowed
from lendflow.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8050
    # Two cores here: two worker processes, a few threads each for the concurrent callbacks
    # of one page load (they wait on PostgreSQL, not on the CPU).
    workers: int = 2
    threads: int = 4
    timeout_seconds: int = 60

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}/"


def gunicorn_config(options: ServeOptions, on_ready: Callable[[Any], None]) -> dict[str, Any]:
    """gunicorn settings for the dashboard (a pure function: tested without serving)."""
    return {
        "bind": f"{options.host}:{options.port}",
        "workers": options.workers,
        "worker_class": "gthread",
        "threads": options.threads,
        "timeout": options.timeout_seconds,
        "graceful_timeout": 10,
        # The app is built once in the master and forked, so workers answer at once. Safe
        # because building it opens no connection: the reader's pool opens on the first
        # query, which happens in a worker, after the fork.
        "preload_app": True,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "lendflow-dashboard",
        "when_ready": on_ready,
        "post_worker_init": connect_worker,
    }


def connect_worker(_worker: Any) -> None:
    """gunicorn's post_worker_init: a new worker connects to the warehouse now, in the
    background, rather than during its first visitor's page load (the connections opened
    while building the app were closed before the fork; a new one costs ~50-80 ms under load)."""
    threading.Thread(target=_read_marts_version, name="dashboard-connect", daemon=True).start()


def _read_marts_version() -> None:
    from dashboard import data
    from dashboard.layout import UNREACHABLE_ERRORS

    try:
        data.reader().version()
    except UNREACHABLE_ERRORS as error:  # the first request reports it to the visitor
        log.warning("dashboard: worker could not connect to the warehouse yet: %s", error)


class DashboardServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn running `create_app(settings).server`, configured in code rather than a file."""

    def __init__(self, settings: Settings, options: ServeOptions, on_ready: Callable[[Any], None]) -> None:
        self._settings = settings
        self._config = gunicorn_config(options, on_ready)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._config.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from dashboard.app import create_app

        return create_app(self._settings).server


def serve(settings: Settings, options: ServeOptions, *, debug: bool = False, announce: Callable[[str], None]) -> None:
    """Serve until stopped; `announce` gets the address once the server listens.

    Raises serving_policy.DebugModeRefused for debug=True unless the environment allows it.
    """
    check_debug_allowed(debug, settings.dashboard_allow_debug)
    if debug:
        from dashboard.app import create_app

        announce(f"{options.address} (Dash debug server: never expose it)")
        create_app(settings).run(host=options.host, port=options.port, debug=True)
        return
    DashboardServer(settings, options, lambda _arbiter: announce(options.address)).run()
