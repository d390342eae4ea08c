"""Opening connections to the warehouse: one place, so retries and DSNs stay uniform."""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from lendflow.redact import masked_dsn
from lendflow.settings import Settings


def connect(settings: Settings, *, autocommit: bool = False, role: str | None = None) -> psycopg.Connection:
    """A psycopg 3 connection to the warehouse database, as its owner or as `role` (Settings.role_dsn)."""
    return connect_dsn(settings.role_dsn(role) if role else settings.pg_dsn, autocommit=autocommit)


def maintenance_dsn(settings: Settings) -> str:
    """The owner's DSN to the server's `postgres` database: where databases and roles are made."""
    return make_conninfo(settings.pg_dsn, dbname="postgres")


def connect_dsn(dsn: str, *, autocommit: bool = False, connect_timeout: int = 10) -> psycopg.Connection:
    """A psycopg 3 connection through `dsn`; when the server cannot be reached, an error naming
    it (password masked) and what to try."""
    try:
        return psycopg.connect(dsn, autocommit=autocommit, connect_timeout=connect_timeout)
    except psycopg.OperationalError as error:
        raise psycopg.OperationalError(
            f"cannot reach PostgreSQL at {masked_dsn(dsn)}: {error}. "
            "Is it running? Try `lendflow up` or `lendflow status`."
        ) from error


def ensure_schema(conn: psycopg.Connection, name: str) -> None:
    """Create a schema unless it exists: a role without CREATE on the database (the transformer)
    may not even run `create schema if not exists` on a schema the bootstrap made for it."""
    if conn.execute("select to_regnamespace(%s) is null", (name,)).fetchone() == (True,):
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(name)))
