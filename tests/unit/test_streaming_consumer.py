"""Which database errors the consumer survives by reconnecting: a lost connection, not a refused batch."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from streaming.consumer import connection_lost


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("server closed the connection unexpectedly"),  # no code: client side
        psycopg.OperationalError("connection failed: Connection refused"),
        errors.AdminShutdown(),  # 57P01: immediate or fast shutdown
        errors.CrashShutdown(),  # 57P02: another backend crashed
        errors.CannotConnectNow(),  # 57P03: starting up, recovering
        errors.ConnectionFailure(),  # 08006
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_lost_connection_is_retried(error: psycopg.Error) -> None:
    assert connection_lost(error)


@pytest.mark.parametrize(
    "error",
    [errors.UniqueViolation(), errors.QueryCanceled(), errors.DiskFull(), errors.InsufficientPrivilege(), ValueError()],
    ids=lambda error: type(error).__name__,
)
def test_a_refused_batch_is_not(error: Exception) -> None:
    assert not connection_lost(error)
