"""DDL of the raw schema: every source column as text, plus lineage columns."""

from __future__ import annotations

import psycopg
from psycopg import sql

from lendflow.raw_columns import RAW_COLUMNS
from lendflow.settings import Settings

# Lineage that is the same for every row of a file comes from settings of the landing's
# transaction (set_config(..., is_local => true)), not from each line: PostgreSQL then parses
# ~150 bytes less per row, a tenth of a landing's time. Unset (another writer), the default is
# NULL and the insert fails: whoever else writes raw.loans must name its lineage.
LINEAGE_SETTINGS: dict[str, str] = {
    "_source_file": "lendflow.source_file",
    "_file_sha256": "lendflow.file_sha256",
    "_batch_id": "lendflow.batch_id",
}

# The defaults read the settings through this function, declared immutable, which it is not
# (it reads a setting): the planner then evaluates it once per statement instead of once per
# row, and COPY plans its column defaults when it starts, after landing set the values
# (current_setting per row costs another ~12% of a landing). The catch: a prepared INSERT
# relying on these defaults could keep a value from an earlier transaction. Nothing writes
# raw.loans that way: landing COPYs, and anyone else must name the lineage.
_LINEAGE_SETTING_FUNCTION = sql.SQL("""
create or replace function raw.lineage_setting(name text) returns text
language sql immutable
as $$ select nullif(current_setting(name, true), '') $$""")


def _from_setting(column: str, cast: str = "") -> str:
    return f"raw.lineage_setting('{LINEAGE_SETTINGS[column]}'){cast}"


LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", f"text not null default {_from_setting('_source_file')}"),
    ("_file_sha256", f"text not null default {_from_setting('_file_sha256')}"),
    ("_row_number", "bigint not null"),
    ("_batch_id", f"uuid not null default {_from_setting('_batch_id', '::uuid')}"),
    ("_landed_at", "timestamptz not null default now()"),
)

# (_file_sha256, _row_number) identifies a row, but deliberately without a unique index:
# maintaining it would cut COPY speed by more than half, and it guards nothing that
# raw.landed_files does not already guard (a file lands in one transaction together with
# its landed_files row, whose primary key is the checksum: a file lands whole, once).
_LOANS = sql.SQL("create table if not exists raw.loans ({columns}, {lineage})").format(
    columns=sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(name)) for name in RAW_COLUMNS),
    lineage=sql.SQL(", ").join(sql.SQL(f"{name} {kind}") for name, kind in LINEAGE_COLUMNS),
)
# Databases created before that decision still carry the index.
_LOANS_WITHOUT_OLD_UNIQUE = sql.SQL(
    "alter table raw.loans drop constraint if exists loans__file_sha256__row_number_key"
)
# Databases created before the lineage came from settings lack the defaults.
_LOANS_LINEAGE_DEFAULTS = sql.SQL("alter table raw.loans {}").format(
    sql.SQL(", ").join(
        sql.SQL("alter column {} set default {}").format(sql.Identifier(name), sql.SQL(kind.split(" default ", 1)[1]))
        for name, kind in LINEAGE_COLUMNS
        if name in LINEAGE_SETTINGS
    )
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

# Text cannot hold every byte string: when a key or value is not valid UTF-8 (or holds NUL),
# message_key / message_value carry a readable \xNN rendering and these the exact bytes.
_LOAN_EVENTS_BYTES = (
    sql.SQL("alter table raw.loan_events add column if not exists message_key_bytes bytea"),
    sql.SQL("alter table raw.loan_events add column if not exists message_value_bytes bytea"),
)

# What landing needs; a role that may only insert (the loader) checks these, the owner creates them.
REQUIRED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("loans", "_batch_id"),
    ("landed_files", "file_sha256"),
    ("rejected_rows", "reason"),
    ("loan_events", "message_value_bytes"),
)


def ensure_raw_tables(conn: psycopg.Connection) -> None:
    """Create the raw schema and its tables if they are missing (idempotent)."""
    conn.execute("create schema if not exists raw")
    for ddl in (
        _LINEAGE_SETTING_FUNCTION,
        _LOANS,
        _LOANS_WITHOUT_OLD_UNIQUE,
        _LOANS_LINEAGE_DEFAULTS,
        _LANDED_FILES,
        _REJECTED_ROWS,
        _LOAN_EVENTS,
        *_LOAN_EVENTS_BYTES,
    ):
        conn.execute(ddl)


def raw_tables_ready(conn: psycopg.Connection) -> bool:
    """True when every raw table and column landing writes to exists (a read-only check)."""
    found = conn.execute(
        "select count(*) from information_schema.columns where table_schema = 'raw'"
        " and (table_name, column_name) in (select * from unnest(%s::text[], %s::text[]))",
        ([t for t, _ in REQUIRED_COLUMNS], [c for _, c in REQUIRED_COLUMNS]),
    ).fetchone()
    if found is None or found[0] != len(REQUIRED_COLUMNS):
        return False
    # pg_attrdef, not information_schema: only a table's owner sees its defaults there.
    defaults = conn.execute(
        "select count(*) from pg_attrdef d join pg_attribute a on (a.attrelid, a.attnum) = (d.adrelid, d.adnum)"
        " where d.adrelid = 'raw.loans'::regclass and a.attname = any(%s)"
        " and pg_get_expr(d.adbin, d.adrelid) like '%%lineage_setting%%'",
        (list(LINEAGE_SETTINGS),),
    ).fetchone()
    return defaults is not None and defaults[0] == len(LINEAGE_SETTINGS)


def ensure_raw_tables_exist(settings: Settings, dsn: str | None = None) -> None:
    """Make sure the raw tables exist before landing through `dsn` (default: the owner's DSN).

    The tables belong to the warehouse's owner (a role that creates a table owns it, and an
    owner may update and drop), so when they are missing the owner's connection creates
    them; a least-privilege loader only ever checks.
    """
    with psycopg.connect(dsn or settings.pg_dsn, connect_timeout=10, autocommit=True) as conn:
        if raw_tables_ready(conn):
            return
    with psycopg.connect(settings.pg_dsn, connect_timeout=10) as conn:
        # Two landings starting at once on a fresh database would race on the catalogs.
        conn.execute("select pg_advisory_xact_lock(hashtext('lendflow.raw_tables'))")
        ensure_raw_tables(conn)
