"""Least privilege in the warehouse: the schemas, the four login roles and their grants.

| role                   | may                                                                 |
|------------------------|---------------------------------------------------------------------|
| lendflow_loader        | insert into (and read, for exactly-once checks) the tables of `raw` |
| lendflow_transformer   | read `raw`; own the schemas dbt and the Python steps build          |
| lendflow_reader        | select from `marts`, nothing else; its sessions are read-only       |
|                        | and limited (statement timeout, connection limit: Settings)         |
| lendflow_gate          | select from `raw`, `intermediate` and `marts`; read-only sessions   |

No role may create schemas, temporary tables, or anything in `public`. The raw tables
themselves are created by the warehouse's owner (the admin DSN), never by the loader: a
role that creates a table owns it, and an owner can update, delete and drop.

dbt and the Python steps run as the transformer (lendflow/dbt.py), landing as the loader,
the quality gates as the gate role: they read the landed batch (raw), its quarantine
(intermediate) and the marts, and must not be able to change what they judge.
The transformer cannot create schemas, so the bootstrap creates the ones it builds in and
hands it every object already in them (a warehouse the admin built before keeps working).

Grants cover the objects that exist now *and* those created later, through default
privileges for the two roles that create objects: the admin (raw tables, and anything built
with the owner's DSN) and the transformer. That is why dbt_project.yml carries no `+grants:`:
a dbt grant to `lendflow_reader` would fail on an external warehouse where that role
does not exist, while default privileges work for every model, seed and tool alike.

Roles are cluster-wide, grants per database: :func:`bootstrap` creates or updates the
roles under an advisory lock in the maintenance database (several databases, and several
callers at once, are fine), then sets up the schemas and grants of the one warehouse
database. It is idempotent; `lendflow up` runs it on every start of the local server, and
the compose stack's `warehouse-init` job runs `python -m lendflow.services.roles`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from lendflow.db import connect_dsn, maintenance_dsn
from lendflow.settings import ROLES, Settings

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
# Where dbt's on-run-start hook keeps its SQL helpers: profiles.yml's schema + "_helpers"
# (macros/cross_db/json.sql).
DBT_HELPERS_SCHEMA = "analytics_helpers"
# Built by dbt and the Python steps (python_steps/run.py's SCHEMA); owned by the transformer.
TRANSFORMER_SCHEMAS = ("staging", "intermediate", "marts", "snapshots", "seeds", "python_steps", DBT_HELPERS_SCHEMA)
READER_SCHEMA = "marts"
# What the quality gates read (orchestration/quality): the batch, its quarantine, the marts.
GATE_SCHEMAS = (RAW_SCHEMA, "intermediate", READER_SCHEMA)

# Arbitrary constant: one key for "someone is creating or altering lendflow's roles".
_ROLES_LOCK_KEY = 0x1E2DF10


@dataclass(frozen=True)
class Login:
    """A least-privilege role as its DSN names it."""

    role: str  # loader, transformer or reader
    user: str
    password: str


def logins(settings: Settings) -> dict[str, Login]:
    """The roles lendflow can set up: those whose DSN names a user other than the admin.

    On an external warehouse without LENDFLOW_<ROLE>_DSN the role's DSN is the admin's own
    (see Settings.role_dsn), and there is nothing to create.
    """
    admin_user = conninfo_to_dict(settings.pg_dsn).get("user")
    found: dict[str, Login] = {}
    for role in ROLES:
        parts = conninfo_to_dict(settings.role_dsn(role))
        user, password = parts.get("user"), parts.get("password")
        if user and password and user != admin_user:
            found[role] = Login(role, str(user), str(password))
    return found


def bootstrap(settings: Settings) -> dict[str, Login]:
    """Create or update the roles, schemas and grants; return the roles it set up."""
    found = logins(settings)
    if set(found) != set(ROLES):
        missing = sorted(set(ROLES) - set(found))
        log.warning("no DSN of its own for %s: least-privilege roles not set up", ", ".join(missing))
        return found
    _ensure_roles(settings, found.values())
    admin = conninfo_to_dict(settings.pg_dsn)
    dbname = str(admin.get("dbname") or settings.pg_db)
    with connect_dsn(settings.pg_dsn) as conn:
        # Two bootstraps of one database at once would race on the catalogs' rows.
        conn.execute("select pg_advisory_xact_lock(%s)", (_ROLES_LOCK_KEY,))
        for statement in grant_statements(dbname, str(admin["user"]), found):
            conn.execute(statement)
    return found


def _ensure_roles(settings: Settings, wanted: Iterable[Login]) -> None:
    wanted = list(wanted)
    with connect_dsn(maintenance_dsn(settings)) as conn:
        # Advisory locks belong to one database: taking it in `postgres` serialises every caller.
        conn.execute("select pg_advisory_xact_lock(%s)", (_ROLES_LOCK_KEY,))
        for login in wanted:
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (login.user,)).fetchone()
            verb = "alter" if exists else "create"
            conn.execute(
                sql.SQL(
                    "{} role {} with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password {}"
                ).format(sql.SQL(verb), sql.Identifier(login.user), sql.Literal(login.password))
            )
            if login.role in ("reader", "gate"):
                # Belt and braces: even a grant added by mistake cannot be used to write by default.
                conn.execute(
                    sql.SQL("alter role {} set default_transaction_read_only = on").format(sql.Identifier(login.user))
                )
        for login in wanted:
            if login.role == "reader":
                for statement in reader_limit_statements(login.user, settings):
                    conn.execute(statement)


def reader_limit_statements(user: str, settings: Settings) -> list[sql.Composed]:
    """The reader's limits: people query through it (dashboard, pgAdmin), and one runaway query
    or a flood of sessions must not take the server from landing and dbt. Each statement is
    idempotent; the timeout applies to every new session of the role, the limit at login.
    """
    role = sql.Identifier(user)
    limit, timeout = sql.Literal(settings.reader_connection_limit), sql.Literal(settings.reader_statement_timeout)
    return [
        sql.SQL("alter role {} connection limit {}").format(role, limit),
        sql.SQL("alter role {} set statement_timeout = {}").format(role, timeout),
    ]


def grant_statements(dbname: str, admin: str, found: dict[str, Login]) -> list[sql.Composed]:
    """Every statement of the per-database step, in order; each is idempotent."""
    db = sql.Identifier(dbname)
    loader = sql.Identifier(found["loader"].user)
    transformer = sql.Identifier(found["transformer"].user)
    reader = sql.Identifier(found["reader"].user)
    gate = sql.Identifier(found["gate"].user)
    creators = [sql.Identifier(admin), transformer]
    raw = sql.Identifier(RAW_SCHEMA)
    marts = sql.Identifier(READER_SCHEMA)

    def q(template: str, **parts: sql.Composable) -> sql.Composed:
        return sql.SQL(template).format(**parts)

    statements = [
        # Only our roles may connect; only those that need them may make temporary tables
        # (dbt's incremental models, staging copies while landing).
        q("revoke all on database {db} from public", db=db),
        q("grant connect on database {db} to {l}, {t}, {r}, {g}", db=db, l=loader, t=transformer, r=reader, g=gate),
        q("grant temporary on database {db} to {l}, {t}", db=db, l=loader, t=transformer),
        # PostgreSQL < 15 lets everyone create in `public`; 15+ already does not.
        q("revoke create on schema public from public"),
        q("create schema if not exists {s}", s=raw),
    ]
    for schema in TRANSFORMER_SCHEMAS:
        name = sql.Identifier(schema)
        statements += [
            q("create schema if not exists {s} authorization {t}", s=name, t=transformer),
            q("alter schema {s} owner to {t}", s=name, t=transformer),
        ]
    statements.append(_hand_over_objects(TRANSFORMER_SCHEMAS, found["transformer"].user))
    statements += [
        # loader: insert into raw. It reads raw too, because exactly-once landing must see
        # what has landed already (raw.landed_files, the unique keys behind ON CONFLICT).
        q("grant usage on schema {s} to {l}, {t}", s=raw, l=loader, t=transformer),
        q("grant select, insert on all tables in schema {s} to {l}", s=raw, l=loader),
        q("grant usage on all sequences in schema {s} to {l}", s=raw, l=loader),
        # transformer: dbt reads its sources in raw.
        q("grant select on all tables in schema {s} to {t}", s=raw, t=transformer),
        # reader: marts only.
        q("grant usage on schema {s} to {r}", s=marts, r=reader),
        q("grant select on all tables in schema {s} to {r}", s=marts, r=reader),
    ]
    for schema in GATE_SCHEMAS:
        # gate: reads what it judges, in the schemas the bootstrap made above.
        statements += [
            q("grant usage on schema {s} to {g}", s=sql.Identifier(schema), g=gate),
            q("grant select on all tables in schema {s} to {g}", s=sql.Identifier(schema), g=gate),
        ]
    for creator in creators:
        statements += [
            q(
                "alter default privileges for role {c} in schema {s} grant select, insert on tables to {l}",
                c=creator,
                s=raw,
                l=loader,
            ),
            q(
                "alter default privileges for role {c} in schema {s} grant usage on sequences to {l}",
                c=creator,
                s=raw,
                l=loader,
            ),
            q(
                "alter default privileges for role {c} in schema {s} grant select on tables to {t}",
                c=creator,
                s=raw,
                t=transformer,
            ),
            q(
                "alter default privileges for role {c} in schema {s} grant select on tables to {r}",
                c=creator,
                s=marts,
                r=reader,
            ),
            *(
                q(
                    "alter default privileges for role {c} in schema {s} grant select on tables to {g}",
                    c=creator,
                    s=sql.Identifier(schema),
                    g=gate,
                )
                for schema in GATE_SCHEMAS
            ),
        ]
    return statements


def _hand_over_objects(schemas: Iterable[str], owner: str) -> sql.Composed:
    """Give `owner` every table, view, sequence and function in `schemas` that another role owns.

    dbt replaces a relation by renaming, which only its owner may do: objects the admin built
    before dbt ran as the transformer would otherwise block every later build.
    """
    body = sql.SQL(
        """
        do $handover$
        declare
            item record;
        begin
            for item in
                select format('alter %s %I.%I owner to %I',
                    case c.relkind when 'v' then 'view' when 'm' then 'materialized view'
                        when 'S' then 'sequence' else 'table' end,
                    n.nspname, c.relname, {owner}) as ddl
                from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = any({schemas}) and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
                    and pg_get_userbyid(c.relowner) <> {owner}
                    -- a sequence owned by a column follows its table
                    and not (c.relkind = 'S' and exists (
                        select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i')))
                union all
                select format('alter routine %s owner to %I', p.oid::regprocedure, {owner})
                from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                where n.nspname = any({schemas}) and pg_get_userbyid(p.proowner) <> {owner}
            loop
                execute item.ddl;
            end loop;
        end
        $handover$"""
    )
    return body.format(owner=sql.Literal(owner), schemas=sql.Literal(list(schemas)))


def main() -> int:
    """`python -m lendflow.services.roles`: the bootstrap on the warehouse the environment names."""
    from lendflow import settings as config

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = config.load()
    found = bootstrap(settings)
    if set(found) != set(ROLES):
        return 1
    log.info("roles ready: %s", ", ".join(login.user for login in found.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
