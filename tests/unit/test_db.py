"""Connections open in lendflow.db only: its DSN helpers and its error when nothing answers."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from lendflow import settings as config
from lendflow.db import connect_dsn, maintenance_dsn


def test_the_maintenance_dsn_is_the_owners_on_the_postgres_database(tmp_path: Path) -> None:
    settings = dataclasses.replace(
        config.load(),
        home=tmp_path,
        pg_dsn_override="postgresql://owner:s%40cret@db.example:6543/warehouse?sslmode=require",
    )
    parts = conninfo_to_dict(maintenance_dsn(settings))
    assert parts == {
        "user": "owner",
        "password": "s@cret",  # pragma: allowlist secret
        "host": "db.example",
        "port": "6543",
        "dbname": "postgres",
        "sslmode": "require",
    }


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_is_named_without_its_password() -> None:
    dsn = f"postgresql://owner:hunter2@127.0.0.1:{_closed_port()}/warehouse"  # pragma: allowlist secret
    with pytest.raises(psycopg.OperationalError, match="cannot reach PostgreSQL at") as raised:
        connect_dsn(dsn, connect_timeout=2)
    assert "hunter2" not in str(raised.value)
