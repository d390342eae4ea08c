"""Opening connections to the warehouse: one place, so retries and DSNs stay uniform."""

from __future__ import annotations

import psycopg

from lendflow.settings import Settings


def connect(settings: Settings, *, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg 3 connection to the warehouse database."""
    try:
        return psycopg.connect(settings.pg_dsn, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise psycopg.OperationalError(
            f"cannot reach PostgreSQL at {_masked(settings.pg_dsn)}: {error}. "
            "Is it running? Try `lendflow up` or `lendflow status`."
        ) from error


def _masked(dsn: str) -> str:
    """The DSN with its password hidden, for messages and logs."""
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


masked_dsn = _masked
