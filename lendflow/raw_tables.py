"""PostgreSQL's raw tables, generated from their declaration in lendflow.raw_columns.

Every source column is text; the lineage columns take their defaults from the landing's
transaction settings (below).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from lendflow.db import connect_dsn
from lendflow.raw_columns import (
    BIGINT,
    BYTES,
    INTEGER,
    LANDED_FILES,
    LINEAGE_COLUMNS,
    LOAN_EVENTS,
    LOANS,
    RAW_SCHEMA_NAME,
    REJECTED_ROWS,
    TEXT,
    TIMESTAMP,
    UUID,
    RawTable,
    TableColumn,
)
from lendflow.settings import Settings

POSTGRES_TYPES = {
    TEXT: "text",
    BIGINT: "bigint",
    INTEGER: "integer",
    UUID: "uuid",
    TIMESTAMP: "timestamptz",
    BYTES: "bytea",
}

# Lineage that is the same for every row of a file comes from settings of the landing's
# transaction (set_config(..., is_local => true)), not from each line: PostgreSQL then parses
# ~150 bytes less per row, a tenth of a landing's time. Unset (another writer), the default is
# NULL and the insert fails: whoever else writes raw.loans must name its lineage.
LINEAGE_SETTINGS: dict[str, str] = {
    column.name: column.from_setting for column in LINEAGE_COLUMNS if column.from_setting is not None
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


def column_default(column: TableColumn) -> sql.SQL | None:
    """The column's default in PostgreSQL, if it has one."""
    if column.from_setting is not None:
        cast = "::uuid" if column.kind == UUID else ""
        return sql.SQL(f"raw.lineage_setting('{column.from_setting}'){cast}")
    if column.stamped:
        return sql.SQL("now()")
    return None


def column_definition(column: TableColumn) -> sql.Composed:
    parts: list[sql.Composable] = [sql.Identifier(column.name), sql.SQL(POSTGRES_TYPES[column.kind])]
    if column.required:
        parts.append(sql.SQL("not null"))
    default = column_default(column)
    if default is not None:
        parts += [sql.SQL("default"), default]
    return sql.SQL(" ").join(parts)


def create_table(table: RawTable) -> sql.Composed:
    """`create table if not exists` for one raw table, from its declaration."""
    definitions = [column_definition(column) for column in table.columns]
    if table.primary_key:
        definitions.append(
            sql.SQL("primary key ({})").format(sql.SQL(", ").join(map(sql.Identifier, table.primary_key)))
        )
    return sql.SQL("create table if not exists {} ({})").format(
        sql.Identifier(RAW_SCHEMA_NAME, table.name), sql.SQL(", ").join(definitions)
    )


# (_file_sha256, _row_number) identifies a row of raw.loans, but deliberately without a unique
# index: maintaining it would cut COPY speed by more than half, and it guards nothing that
# raw.landed_files does not already guard (a file lands in one transaction together with
# its landed_files row, whose primary key is the checksum: a file lands whole, once).
# Databases created before that decision still carry the index.
_LOANS_WITHOUT_OLD_UNIQUE = sql.SQL(
    "alter table raw.loans drop constraint if exists loans__file_sha256__row_number_key"
)
# Databases created before the lineage came from settings lack the defaults.
_LOANS_LINEAGE_DEFAULTS = sql.SQL("alter table raw.loans {}").format(
    sql.SQL(", ").join(
        sql.SQL("alter column {} set default {}").format(sql.Identifier(column.name), default)
        for column in LINEAGE_COLUMNS
        if column.from_setting is not None and (default := column_default(column)) is not None
    )
)
# Databases created before raw.loan_events kept exact bytes lack these columns.
_LOAN_EVENTS_BYTES = tuple(
    sql.SQL("alter table raw.loan_events add column if not exists {} bytea").format(sql.Identifier(name))
    for name in ("message_key_bytes", "message_value_bytes")
)
# dbt's staging of the events reads the messages landed since its last run: with this index
# that read costs what the batch holds, not what the topic ever sent.
_LOAN_EVENTS_LANDED_AT_INDEX = sql.SQL(
    "create index if not exists loan_events__landed_at on raw.loan_events (_landed_at)"
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
    statements: tuple[sql.SQL | sql.Composed, ...] = (
        _LINEAGE_SETTING_FUNCTION,
        create_table(LOANS),
        _LOANS_WITHOUT_OLD_UNIQUE,
        _LOANS_LINEAGE_DEFAULTS,
        create_table(LANDED_FILES),
        create_table(REJECTED_ROWS),
        create_table(LOAN_EVENTS),
        *_LOAN_EVENTS_BYTES,
        _LOAN_EVENTS_LANDED_AT_INDEX,
    )
    for statement in statements:
        conn.execute(statement)


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
    with connect_dsn(dsn or settings.pg_dsn, autocommit=True) as conn:
        if raw_tables_ready(conn):
            return
    with connect_dsn(settings.pg_dsn) as conn:
        # Two landings starting at once on a fresh database would race on the catalogs.
        conn.execute("select pg_advisory_xact_lock(hashtext('lendflow.raw_tables'))")
        ensure_raw_tables(conn)
