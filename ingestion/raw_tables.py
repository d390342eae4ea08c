"""DDL of the raw schema: every source column as text, plus lineage columns."""

from __future__ import annotations

import psycopg
from psycopg import sql

from lendflow.raw_columns import RAW_COLUMNS

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "text not null"),
    ("_file_sha256", "text not null"),
    ("_row_number", "bigint not null"),
    ("_batch_id", "uuid not null"),
    ("_landed_at", "timestamptz not null default now()"),
)

_LOANS = sql.SQL(
    "create table if not exists raw.loans ({columns}, {lineage}, unique (_file_sha256, _row_number))"
).format(
    columns=sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(name)) for name in RAW_COLUMNS),
    lineage=sql.SQL(", ").join(sql.SQL(f"{name} {kind}") for name, kind in LINEAGE_COLUMNS),
)

_LANDED_FILES = sql.SQL("""
create table if not exists raw.landed_files (
    file_sha256   text primary key,
    source_file   text not null,
    batch_id      uuid not null,
    rows_read     bigint not null,
    rows_landed   bigint not null,
    rows_rejected bigint not null,
    landed_at     timestamptz not null default now()
)""")

_REJECTED_ROWS = sql.SQL("""
create table if not exists raw.rejected_rows (
    source_file  text not null,
    file_sha256  text not null,
    line_number  bigint not null,
    raw_text     text not null,
    reason       text not null,
    batch_id     uuid not null,
    rejected_at  timestamptz not null default now()
)""")


# Kafka messages exactly as they arrived: the value need not be valid JSON. The unique
# (topic, partition, offset) is what makes redelivery after a crash land nothing twice.
_LOAN_EVENTS = sql.SQL("""
create table if not exists raw.loan_events (
    topic             text not null,
    kafka_partition   integer not null,
    kafka_offset      bigint not null,
    message_key       text,
    message_value     text,
    message_timestamp timestamptz,
    _landed_at        timestamptz not null default now(),
    primary key (topic, kafka_partition, kafka_offset)
)""")


def ensure_raw_tables(conn: psycopg.Connection) -> None:
    """Create the raw schema and its tables if they are missing (idempotent)."""
    conn.execute("create schema if not exists raw")
    for ddl in (_LOANS, _LANDED_FILES, _REJECTED_ROWS, _LOAN_EVENTS):
        conn.execute(ddl)
