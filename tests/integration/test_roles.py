"""Least privilege, proven on the real PostgreSQL server: each role connects with its own
password and tries what it must and must not do.

The objects are made the way the pipeline makes them: raw tables by ingestion's own DDL as
the admin, mart tables by the admin (dbt as `lendflow` runs it today) and by the
transformer (dbt as the transformer), after the bootstrap, so default privileges are tested
too, not only grants on what existed at bootstrap time.
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import errors, sql

from lendflow.raw_tables import ensure_raw_tables
from lendflow.services import postgres as pg
from lendflow.services import roles
from lendflow.settings import ROLES, Settings

pytestmark = pytest.mark.postgres


PROBES = (
    "staging.zz_roles_probe_view",
    "marts.zz_roles_probe_admin",
    "marts.zz_roles_probe_transformer",
    "staging.zz_roles_probe_admin",
    "intermediate.zz_roles_probe_transformer",
)


@pytest.fixture(scope="module")
def warehouse(postgres: Settings) -> Iterator[Settings]:
    """The test database with probe objects; they go again after, since other tests share it."""
    # start() on the running server is what `lendflow up` does: it must bootstrap this database.
    pg.start(postgres)
    with psycopg.connect(postgres.pg_dsn, autocommit=True) as admin:
        ensure_raw_tables(admin)
        admin.execute("create table marts.zz_roles_probe_admin as select 1 as loan_id")
        admin.execute("create table staging.zz_roles_probe_admin as select 1 as loan_id")
    with psycopg.connect(postgres.role_dsn("transformer"), autocommit=True) as transformer:
        transformer.execute("create table marts.zz_roles_probe_transformer as select count(*) as n from raw.loans")
        transformer.execute("create view staging.zz_roles_probe_view as select _source_file from raw.loans")
        transformer.execute("create table intermediate.zz_roles_probe_transformer as select 1 as loan_id")
    yield postgres
    with psycopg.connect(postgres.pg_dsn, autocommit=True) as admin:
        for name in PROBES:
            kind = "view" if name.endswith("_view") else "table"
            admin.execute(f"drop {kind} if exists {name}")  # type: ignore[arg-type]


def _connect(settings: Settings, role: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(settings.role_dsn(role), autocommit=True) as conn:
        yield conn


@pytest.fixture()
def reader(warehouse: Settings) -> Iterator[psycopg.Connection]:
    yield from _connect(warehouse, "reader")


@pytest.fixture()
def loader(warehouse: Settings) -> Iterator[psycopg.Connection]:
    yield from _connect(warehouse, "loader")


@pytest.fixture()
def transformer(warehouse: Settings) -> Iterator[psycopg.Connection]:
    yield from _connect(warehouse, "transformer")


@pytest.fixture()
def gate(warehouse: Settings) -> Iterator[psycopg.Connection]:
    yield from _connect(warehouse, "gate")


def assert_denied(conn: psycopg.Connection, statement: str) -> None:
    """The statement fails for lack of privilege (SQLSTATE 42501), not for any other reason."""
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement)  # type: ignore[arg-type]


RAW_INSERT = (
    "insert into raw.loans (_source_file, _file_sha256, _row_number, _batch_id) values ('f.csv', 'abc', {n}, '{b}')"
)


def test_roles_log_in_as_themselves(warehouse: Settings) -> None:
    for role in ("loader", "transformer", "reader", "gate"):
        with psycopg.connect(warehouse.role_dsn(role)) as conn:
            row = conn.execute("select current_user, usesuper from pg_user where usename = current_user").fetchone()
            assert row == (f"lendflow_{role}", False)


# --- reader -----------------------------------------------------------------------------
def test_reader_selects_marts_made_by_admin_and_by_transformer(reader: psycopg.Connection) -> None:
    assert reader.execute("select loan_id from marts.zz_roles_probe_admin").fetchall() == [(1,)]
    assert reader.execute("select n from marts.zz_roles_probe_transformer").fetchone() is not None


def test_reader_cannot_read_raw_staging_or_intermediate(reader: psycopg.Connection) -> None:
    for table in ("raw.loans", "raw.landed_files", "staging.zz_roles_probe_view", "staging.zz_roles_probe_admin"):
        assert_denied(reader, f"select * from {table}")
    assert_denied(reader, "select * from intermediate.zz_roles_probe_transformer")


def test_reader_sessions_are_read_only_by_default(reader: psycopg.Connection) -> None:
    assert reader.execute("show default_transaction_read_only").fetchone() == ("on",)
    with pytest.raises(errors.ReadOnlySqlTransaction):
        reader.execute("create temporary table t (x int)")


def test_reader_cannot_write_anywhere_even_in_a_read_write_session(reader: psycopg.Connection) -> None:
    # Lift the read-only default: what still stops the reader is the privilege system itself.
    reader.execute("set session characteristics as transaction read write")
    for statement in (
        "insert into marts.zz_roles_probe_admin values (2)",
        "update marts.zz_roles_probe_admin set loan_id = 3",
        "delete from marts.zz_roles_probe_transformer",
        "truncate marts.zz_roles_probe_admin",
        "drop table marts.zz_roles_probe_admin",
        "create table marts.x (a int)",
        "create table public.x (a int)",
        "create table raw.x (a int)",
        "create schema reader_was_here",
        "create temporary table t (a int)",
        RAW_INSERT.format(n=1, b=uuid.uuid4()),
    ):
        assert_denied(reader, statement)


def test_reader_has_the_configured_statement_timeout_and_connection_limit(
    warehouse: Settings, reader: psycopg.Connection
) -> None:
    row = reader.execute("select rolconnlimit, rolconfig from pg_roles where rolname = current_user").fetchone()
    assert row is not None
    assert row[0] == warehouse.reader_connection_limit == 20
    assert f"statement_timeout={warehouse.reader_statement_timeout}" in row[1]
    assert reader.execute("show statement_timeout").fetchone() == ("30s",)


@pytest.fixture()
def limited_reader(own_database: Callable[[str], Settings]) -> Iterator[Settings]:
    """A database of its own bootstrapped with a reader of its own under tight limits: a short
    timeout set on the shared `lendflow_reader` would cut the queries of other tests."""
    base = own_database("reader_limits")
    user = "lendflow_zz_reader_limits_probe"
    reader_dsn = psycopg.conninfo.make_conninfo(base.role_dsn("reader"), user=user, password=secrets.token_urlsafe(16))
    limited = dataclasses.replace(
        base,
        reader_statement_timeout="300ms",
        reader_connection_limit=2,
        role_dsn_overrides={**{role: base.role_dsn(role) for role in ROLES}, "reader": reader_dsn},
    )
    roles.bootstrap(limited)
    roles.bootstrap(limited)  # idempotent
    yield limited
    pg.drop_database(limited)
    with psycopg.connect(psycopg.conninfo.make_conninfo(base.pg_dsn, dbname="postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(user)))


def test_a_reader_query_longer_than_the_timeout_is_cancelled(limited_reader: Settings) -> None:
    with psycopg.connect(limited_reader.role_dsn("reader"), autocommit=True) as conn:
        assert conn.execute("select 1 from pg_sleep(0.05)").fetchone() == (1,)
        with pytest.raises(errors.QueryCanceled, match="statement timeout"):
            conn.execute("select pg_sleep(5)")


def test_the_reader_cannot_open_more_sessions_than_its_limit(limited_reader: Settings) -> None:
    dsn = limited_reader.role_dsn("reader")
    with (
        psycopg.connect(dsn),
        psycopg.connect(dsn),
        pytest.raises(psycopg.OperationalError, match="too many connections for role"),
    ):
        psycopg.connect(dsn).close()
    with psycopg.connect(dsn, autocommit=True) as conn:  # sessions closed: room again
        assert conn.execute("select rolconnlimit from pg_roles where rolname = current_user").fetchone() == (2,)


# --- gate -------------------------------------------------------------------------------
def test_gate_reads_raw_intermediate_and_marts_made_by_admin_and_by_transformer(gate: psycopg.Connection) -> None:
    for table in ("raw.loans", "raw.landed_files", "raw.rejected_rows", "raw.loan_events"):
        gate.execute(f"select count(*) from {table}")  # type: ignore[arg-type]
    assert gate.execute("select loan_id from intermediate.zz_roles_probe_transformer").fetchall() == [(1,)]
    assert gate.execute("select loan_id from marts.zz_roles_probe_admin").fetchall() == [(1,)]
    assert gate.execute("select n from marts.zz_roles_probe_transformer").fetchone() is not None


def test_gate_cannot_read_staging_nor_change_what_it_judges(gate: psycopg.Connection) -> None:
    assert_denied(gate, "select * from staging.zz_roles_probe_admin")
    assert gate.execute("show default_transaction_read_only").fetchone() == ("on",)
    gate.execute("set session characteristics as transaction read write")
    for statement in (
        RAW_INSERT.format(n=1, b=uuid.uuid4()),
        "delete from raw.loans",
        "delete from raw.landed_files",
        "update intermediate.zz_roles_probe_transformer set loan_id = 2",
        "delete from marts.zz_roles_probe_admin",
        "create table marts.x (a int)",
        "create temporary table t (a int)",
    ):
        assert_denied(gate, statement)


# --- loader -----------------------------------------------------------------------------
def test_loader_inserts_into_raw(loader: psycopg.Connection) -> None:
    batch = uuid.uuid4()
    # Rolled back: other tests count what is in raw.loans.
    with loader.transaction(force_rollback=True):
        loader.execute(RAW_INSERT.format(n=1, b=batch))  # type: ignore[arg-type]
        landed = loader.execute("select count(*) from raw.loans where _batch_id = %s", (batch,)).fetchone()
        assert landed == (1,)
    loader.execute("create temporary table staging_copy (x text)")  # landing may stage in a temp table


def test_loader_cannot_change_or_remove_what_landed(loader: psycopg.Connection) -> None:
    for statement in (
        "update raw.loans set _source_file = 'other.csv'",
        "delete from raw.loans",
        "truncate raw.loans",
        "drop table raw.loans",
        "alter table raw.loans add column x text",
        "create table raw.loader_table (a int)",
    ):
        assert_denied(loader, statement)


def test_loader_cannot_touch_marts_or_the_models(loader: psycopg.Connection) -> None:
    for statement in (
        "select * from marts.zz_roles_probe_admin",
        "select * from marts.zz_roles_probe_transformer",
        "insert into marts.zz_roles_probe_admin values (2)",
        "create table marts.x (a int)",
        "select * from staging.zz_roles_probe_view",
        "create table public.x (a int)",
        "create schema loader_was_here",
    ):
        assert_denied(loader, statement)


# --- transformer --------------------------------------------------------------------------
def test_transformer_reads_raw_but_cannot_write_it(transformer: psycopg.Connection) -> None:
    assert transformer.execute("select count(*) from raw.landed_files").fetchone() is not None
    assert_denied(transformer, RAW_INSERT.format(n=2, b=uuid.uuid4()))
    assert_denied(transformer, "delete from raw.loans")
    assert_denied(transformer, "create table raw.x (a int)")


def test_transformer_owns_the_model_schemas(transformer: psycopg.Connection) -> None:
    # dbt's table materialisation: build a temp relation, swap names, drop the old one.
    transformer.execute("create table marts.zz_roles_probe_swap__dbt_tmp as select 1 as loan_id")
    transformer.execute("alter table marts.zz_roles_probe_swap__dbt_tmp rename to zz_roles_probe_swap")
    transformer.execute("create table seeds.zz_roles_probe_seed as select 'A' as grade")
    transformer.execute("drop table marts.zz_roles_probe_swap, seeds.zz_roles_probe_seed")


# --- the bootstrap ----------------------------------------------------------------------
def test_bootstrap_is_idempotent_and_leaves_other_databases_alone(warehouse: Settings) -> None:
    admin_dsn = psycopg.conninfo.make_conninfo(warehouse.pg_dsn, dbname="postgres")
    other = f"{warehouse.pg_db}_other"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{other}" with (force)')  # type: ignore[arg-type]
        admin.execute(f'create database "{other}"')  # type: ignore[arg-type]
    try:
        roles.bootstrap(warehouse)
        roles.bootstrap(warehouse)
        # Grants are per database: the reader gets nothing in a database nobody bootstrapped...
        with psycopg.connect(warehouse.pg_dsn.rsplit("/", 1)[0] + f"/{other}", autocommit=True) as conn:
            conn.execute("create schema marts")
            conn.execute("create table marts.t as select 1 as x")
        reader_other = warehouse.role_dsn("reader").rsplit("/", 1)[0] + f"/{other}"
        with psycopg.connect(reader_other, autocommit=True) as conn:
            assert_denied(conn, "select * from marts.t")
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{other}" with (force)')  # type: ignore[arg-type]
    # ...and the warehouse still works for everyone after the repeated runs.
    with psycopg.connect(warehouse.role_dsn("reader")) as conn:
        assert conn.execute("select loan_id from marts.zz_roles_probe_admin").fetchall() == [(1,)]


def test_bootstrap_hands_what_the_owner_built_to_the_transformer(warehouse: Settings) -> None:
    # A warehouse dbt built as its owner (lendflow before it ran dbt as the transformer): the
    # transformer must be able to replace those relations and functions on its next build.
    with psycopg.connect(warehouse.pg_dsn, autocommit=True) as admin:
        admin.execute("create table intermediate.zz_roles_probe_owned (loan_id serial, x int)")
        admin.execute("create view marts.zz_roles_probe_owned_view as select 1 as x")
        admin.execute("create function analytics_helpers.zz_roles_probe(x int) returns int language sql as 'select x'")
    try:
        roles.bootstrap(warehouse)
        with psycopg.connect(warehouse.role_dsn("transformer"), autocommit=True) as transformer:
            transformer.execute("alter table intermediate.zz_roles_probe_owned rename to zz_roles_probe_owned2")
            transformer.execute("insert into intermediate.zz_roles_probe_owned2 (x) values (1)")  # its sequence too
            transformer.execute("create or replace view marts.zz_roles_probe_owned_view as select 1 as x")
            transformer.execute(
                "create or replace function analytics_helpers.zz_roles_probe(x int) returns int"
                " language sql as 'select x + 1'"
            )
    finally:
        with psycopg.connect(warehouse.pg_dsn, autocommit=True) as admin:
            admin.execute("drop table if exists intermediate.zz_roles_probe_owned, intermediate.zz_roles_probe_owned2")
            admin.execute("drop view if exists marts.zz_roles_probe_owned_view")
            admin.execute("drop function if exists analytics_helpers.zz_roles_probe(int)")


def test_an_external_warehouse_without_role_dsns_is_left_alone(warehouse: Settings) -> None:
    # Pointing at a server we did not create: role_dsn() falls back to the admin DSN, and the
    # bootstrap must neither fail nor create anything.
    from dataclasses import replace

    external = replace(warehouse, pg_dsn_override=warehouse.pg_dsn, role_dsn_overrides={})
    assert roles.logins(external) == {}
    assert roles.bootstrap(external) == {}
