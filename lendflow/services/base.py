"""What every local service shares: pid files, port probes, waiting for health."""

from __future__ import annotations

import fcntl
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lendflow.settings import Settings


class ServiceError(RuntimeError):
    """A local service could not be started, reached or stopped; the message says why."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    address: str
    detail: str = ""
    external: bool = False


def free_port(pairs: bool = False) -> int:
    """A loopback port nobody listens on now (and the next one too, when pairs: a server that
    also takes port + 1).

    Below 32768, outside the range Linux hands to outgoing connections, so no client socket
    takes it between this check and the server's bind.
    """
    while True:
        port = random.randrange(20_000, 32_000)
        if all(_can_bind(candidate) for candidate in (port, port + 1)[: 2 if pairs else 1]):
            return port


def _can_bind(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def read_pid(pid_file: Path) -> int | None:
    """The pid in pid_file if that process is still alive, else None."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, IndexError):
        return True


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll check() until it is true, or raise ServiceError naming what we waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise ServiceError(f"timed out after {timeout:.0f}s waiting for {what}")


def spawn_detached(cmd: Sequence[str], log_file: Path, pid_file: Path, env: dict[str, str] | None = None) -> int:
    """Start cmd in its own session (so it outlives us), output to log_file, pid to pid_file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            list(cmd),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def terminate(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM the process group of pid, then SIGKILL if it has not gone in time."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.1)


@contextmanager
def start_lock(settings: Settings, name: str) -> Iterator[None]:
    """Serialise a service's start() across processes (CLI, Airflow tasks, pytest workers): one
    server, not two racing for its port and its files."""
    path = settings.run_dir / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:  # Popen closes inherited fds, so the server never holds this lock
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass(frozen=True)
class Daemon:
    """A background process we start: its pid file and its log, found by its name."""

    name: str

    def pid_file(self, settings: Settings) -> Path:
        return settings.run_dir / f"{self.name}.pid"

    def log_file(self, settings: Settings) -> Path:
        return settings.logs_dir / f"{self.name}.log"

    def pid(self, settings: Settings) -> int | None:
        """Its pid while it runs, else None."""
        return read_pid(self.pid_file(settings))

    def stop(self, settings: Settings) -> None:
        """SIGTERM (then SIGKILL) if it runs; its pid file goes either way."""
        pid = self.pid(settings)
        if pid is not None:
            terminate(pid)
        self.pid_file(settings).unlink(missing_ok=True)
