"""A real PostgreSQL server of our own: its own data directory, a loopback port.

Debian's binaries refuse to run as root, so as root every server command runs as the
``postgres`` system user, and the data directory belongs to that user.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from lendflow.db import connect_dsn, maintenance_dsn
from lendflow.redact import masked_dsn
from lendflow.services import roles
from lendflow.services.base import ServiceError, ServiceStatus, port_is_open, start_lock, tail, wait_until
from lendflow.settings import LOCAL_HOST, LOCAL_PG_USER, Settings

SERVER_OPTIONS = {
    "listen_addresses": LOCAL_HOST,
    # No Unix socket: it would need /var/run/postgresql, and TCP on loopback is enough.
    "unix_socket_directories": "''",
    # Bulk loads write a lot of WAL; fewer checkpoints keep COPY at full speed.
    "max_wal_size": "2GB",
    # dbt rebuilds a table with CREATE TABLE AS; at wal_level minimal a table created in the
    # transaction that fills it is fsynced at commit instead of written twice, once to the WAL.
    # Crash-safe all the same; what it rules
    # out, replicas and point-in-time recovery, a warehouse rebuilt from raw does not need.
    "wal_level": "minimal",
    "max_wal_senders": "0",
    # Small on purpose: the tables are read through the OS cache either way, and a larger
    # buffer pool makes every model of a full build slower (two copies of each hot page).
    "shared_buffers": "256MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "256MB",
    # JIT compiles each query whose estimated cost is high; dbt's wide views over a million
    # rows are estimated far above the thresholds, and compiling them costs seconds per query
    # for a run time it hardly shortens.
    "jit": "off",
}

# The server options docker-compose.yml's postgres service must also set (the rest are about
# this machine's local server: where it listens).
SHARED_SERVER_OPTIONS = {
    key: value for key, value in SERVER_OPTIONS.items() if key not in ("listen_addresses", "unix_socket_directories")
}


def find_bindir(override: Path | None = None) -> Path:
    """The directory holding initdb and pg_ctl: the override (Settings.pg_bindir_override), Debian's newest, or PATH."""
    candidates = [str(override)] if override else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        candidates.append(str(Path(initdb_on_path).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise ServiceError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Install them "
        "(`sudo apt-get install postgresql`, or `make system`), set LENDFLOW_PG_BINDIR, "
        "or point LENDFLOW_PG_DSN at an existing server."
    )


def _version_key(path: str) -> int:
    try:
        return int(Path(path).parent.name)
    except ValueError:
        return 0


def _as_root() -> bool:
    return os.geteuid() == 0


def _server_cmd(*args: str) -> list[str]:
    """Run a server binary as ourselves, or as the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if _as_root() else list(args)


def _postgres_can_reach(path: Path) -> bool:
    probe = path if path.exists() else path.parent
    return subprocess.run(_server_cmd("test", "-x", str(probe)), check=False).returncode == 0


def data_dir(settings: Settings) -> Path:
    """Where the cluster lives: under LENDFLOW_HOME, unless the postgres user can't get there.

    As root the server runs as `postgres`, which cannot enter a checkout under, say, a
    0700 home directory; then the cluster goes to /var/tmp, named after LENDFLOW_HOME.
    """
    preferred = settings.pg_home / "data"
    if not _as_root():
        return preferred
    settings.pg_home.mkdir(parents=True, exist_ok=True)
    if _postgres_can_reach(settings.pg_home):
        return preferred
    digest = hashlib.sha1(str(settings.home).encode()).hexdigest()[:10]
    return Path("/var/tmp") / f"lendflow-{digest}" / "postgres" / "data"


def _log_file(data: Path) -> Path:
    # Beside the data directory: the server user must be able to write it.
    return data.parent / "postgres.log"


def _run(cmd: list[str], what: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"{what} failed ({' '.join(cmd)}):\n{result.stdout}{result.stderr}")


def _chown_to_postgres(path: Path) -> None:
    if _as_root():
        shutil.chown(path, user="postgres", group="postgres")


def initialise(settings: Settings, bindir: Path, data: Path) -> None:
    """initdb once: a superuser named after us, password auth, UTF-8, C collation."""
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    for path in (data.parent, data):
        _chown_to_postgres(path)
    data.chmod(0o700)
    with tempfile.NamedTemporaryFile("w", dir=data.parent, delete=False) as pwfile:
        pwfile.write(settings.pg_password)
    pw_path = Path(pwfile.name)
    try:
        _chown_to_postgres(pw_path)
        _run(
            _server_cmd(
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                LOCAL_PG_USER,
                f"--pwfile={pw_path}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
            ),
            "initdb",
        )
    finally:
        pw_path.unlink(missing_ok=True)


def _pg_ctl_status(bindir: Path, data: Path) -> bool:
    if not (data / "PG_VERSION").exists():
        return False
    cmd = _server_cmd(str(bindir / "pg_ctl"), "-D", str(data), "status")
    return subprocess.run(cmd, capture_output=True, check=False).returncode == 0


def start(settings: Settings) -> None:
    """Start the local server (idempotent); make sure the warehouse database and its roles exist."""
    if not settings.pg_is_local:
        return
    with start_lock(settings, "postgres"):  # one initdb, one server, however many processes start it
        _start(settings)


def _start(settings: Settings) -> None:
    bindir = find_bindir(settings.pg_bindir_override)
    data = data_dir(settings)
    if _pg_ctl_status(bindir, data):
        # Already running: the database (LENDFLOW_PG_DB may be new) and roles may still be missing.
        ensure_database(settings)
        roles.bootstrap(settings)
        return
    if port_is_open(LOCAL_HOST, settings.pg_port):
        raise ServiceError(
            f"port {settings.pg_port} is taken by another process; stop it or choose another port with LENDFLOW_PG_PORT"
        )
    initialise(settings, bindir, data)
    options = " ".join(f"-c {key}={value}" for key, value in SERVER_OPTIONS.items())
    options += f" -c port={settings.pg_port}"
    log = _log_file(data)
    cmd = _server_cmd(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n{tail(log)}")
    wait_until(lambda: port_is_open(LOCAL_HOST, settings.pg_port), 30, "PostgreSQL to listen")
    ensure_database(settings)
    roles.bootstrap(settings)


def recreate_database(settings: Settings) -> None:
    """Drop and create the warehouse database, with the schemas, roles and grants `lendflow up`
    gives it: how benchmarks and tests start from an empty warehouse."""
    drop_database(settings)
    with connect_dsn(maintenance_dsn(settings), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(settings.pg_db)))
    roles.bootstrap(settings)


def drop_database(settings: Settings) -> None:
    """Drop the warehouse database (its sessions closed first), if it exists."""
    with connect_dsn(maintenance_dsn(settings), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(settings.pg_db)))


def ensure_database(settings: Settings) -> None:
    with connect_dsn(maintenance_dsn(settings), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (settings.pg_db,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(settings.pg_db)))


def stop(settings: Settings) -> None:
    if not settings.pg_is_local:
        return
    bindir = find_bindir(settings.pg_bindir_override)
    data = data_dir(settings)
    if _pg_ctl_status(bindir, data):
        _run(_server_cmd(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"), "pg_ctl stop")


def status(settings: Settings) -> ServiceStatus:
    # The address is shown (`lendflow status`, `lendflow up`): never with the password in it;
    # `lendflow status --dsn` is the one way to print the whole DSN.
    address = masked_dsn(settings.pg_dsn)
    if not settings.pg_is_local:
        return ServiceStatus("postgres", _can_connect(settings.pg_dsn), address, external=True)
    try:
        bindir = find_bindir(settings.pg_bindir_override)
    except ServiceError as error:
        return ServiceStatus("postgres", False, address, detail=str(error))
    data = data_dir(settings)
    return ServiceStatus("postgres", _pg_ctl_status(bindir, data), address, detail=f"data: {data}")


def _can_connect(dsn: str) -> bool:
    try:
        with connect_dsn(dsn, connect_timeout=3):
            return True
    except psycopg.Error:
        return False
