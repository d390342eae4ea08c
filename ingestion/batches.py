"""The landed batch files: list them with what became of their rows, and withdraw one.

A batch is one landed file (raw.landed_files: its SHA-256 and batch id). Withdrawing it
deletes its rows from raw.loans, raw.rejected_rows and raw.landed_files in one transaction,
as the warehouse's owner: the loader may only insert, on purpose. What dbt built from those
rows goes with the next *full* build: dbt's incremental models keep what they merged before,
and the reconciliation test (raw rows = served + superseded + quarantined) would count the
withdrawn rows as lost. Once withdrawn, the same file may be landed again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

import psycopg

from lendflow.db import connect
from lendflow.settings import Settings

# A checksum prefix must be long enough to name one file on sight (summaries print 12).
MIN_PREFIX = 8
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-f]+")


class BatchError(ValueError):
    """No landed batch, or more than one, answers to the name given."""


@dataclass(frozen=True)
class LandedBatch:
    batch_id: str
    file_sha256: str
    source_file: str
    landed_at: datetime
    rows_read: int
    rows_landed: int
    rows_rejected: int
    # Records dbt quarantined (None: not built yet).
    rows_quarantined: int | None = None


@dataclass(frozen=True)
class Withdrawal:
    batch: LandedBatch
    loans_deleted: int
    rejected_deleted: int


_BATCHES = """
select b.batch_id::text, b.file_sha256, b.source_file, b.landed_at, b.rows_read, b.rows_landed, b.rows_rejected
from raw.landed_files as b
"""
_QUARANTINED = """
select file_sha256, count(*) filter (where quarantine_reason is not null)
from intermediate.int_loan_records_validated where record_source = 'batch' group by 1
"""


def batch_filter(key: str) -> tuple[str, tuple[str, ...]]:
    """The WHERE clause (and its parameters) that picks the batches `key` may name.

    key: a batch id (UUID), a file's SHA-256, or a prefix of it of at least MIN_PREFIX digits.
    """
    key = key.strip()
    if _UUID.fullmatch(key):
        return "b.batch_id = %s::uuid", (key,)
    digits = key.lower()
    if len(digits) >= MIN_PREFIX and _HEX.fullmatch(digits):
        return "b.file_sha256 like %s", (digits + "%",)
    raise BatchError(f"{key!r} is neither a batch id nor a file's SHA-256 (or a prefix of {MIN_PREFIX}+ digits)")


def list_batches(settings: Settings) -> list[LandedBatch]:
    """Every landed file, oldest first, with its records quarantined once dbt has built them."""
    with connect(settings) as conn:
        if conn.execute("select to_regclass('raw.landed_files') is null").fetchone() == (True,):
            return []
        rows = conn.execute(_BATCHES + " order by b.landed_at, b.file_sha256").fetchall()
        quarantined: dict[str, int] = {}
        if conn.execute("select to_regclass('intermediate.int_loan_records_validated') is not null").fetchone() == (
            True,
        ):
            quarantined = {sha: int(count) for sha, count in conn.execute(_QUARANTINED).fetchall()}
    found = [LandedBatch(*row) for row in rows]
    return [replace(batch, rows_quarantined=quarantined.get(batch.file_sha256)) for batch in found]


def find_batch(conn: psycopg.Connection, key: str) -> LandedBatch:
    """The one landed batch `key` names (batch_filter); BatchError if none or several do."""
    where, params = batch_filter(key)
    rows = conn.execute(_BATCHES + f" where {where}", params).fetchall()  # type: ignore[arg-type]
    if not rows:
        raise BatchError(f"no landed batch answers to {key!r} (`lendflow batches` lists them)")
    if len(rows) > 1:
        raise BatchError(f"{key!r} names {len(rows)} batches: give more of the SHA-256")
    return LandedBatch(*rows[0])


def withdraw(settings: Settings, key: str) -> Withdrawal:
    """Delete the batch `key` names from the raw tables, in one transaction, as the owner."""
    with connect(settings) as conn:
        batch = find_batch(conn, key)
        # The landing's own lock: a landing of the same file waits, then lands it afresh.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (batch.file_sha256,))
        loans = conn.execute(
            "delete from raw.loans where _file_sha256 = %s and _batch_id = %s::uuid",
            (batch.file_sha256, batch.batch_id),
        ).rowcount
        rejected = conn.execute("delete from raw.rejected_rows where file_sha256 = %s", (batch.file_sha256,)).rowcount
        conn.execute("delete from raw.landed_files where file_sha256 = %s", (batch.file_sha256,))
    return Withdrawal(batch, loans, rejected)
