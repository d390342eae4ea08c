"""The edge of the Python steps: read raw, call the pure functions, write python_steps.* tables."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeGuard

import psycopg
from psycopg import sql

from ingestion.raw_tables import ensure_raw_tables_exist
from lendflow.db import connect, ensure_schema
from lendflow.settings import Settings
from lendflow.warehouse_rules import load_rules
from python_steps.titles import TitleMapping, canonical_titles
from python_steps.transforms import TRANSFORMED_COLUMNS, FittedParameter, can_fit, fit_yeo_johnson

log = logging.getLogger(__name__)

SCHEMA = "python_steps"
RAW_NAMES = {"emp_title": "Emp Title", "avg_cur_bal": "Avg Cur Bal", "tot_cur_bal": "Tot Cur Bal"}

_DDL = (
    f"""create table if not exists {SCHEMA}.emp_title_map (
        raw_title text primary key,
        canonical_title text not null,
        cluster_key text not null,
        fitted_at timestamptz not null default now())""",
    f"""create table if not exists {SCHEMA}.fitted_transforms (
        column_name text not null,
        method text not null,
        parameter_name text not null,
        parameter_value double precision not null,
        fitted_rows bigint not null,
        fitted_at timestamptz not null default now(),
        primary key (column_name, method, parameter_name))""",
)


@dataclass(frozen=True)
class StepsReport:
    titles: int
    canonical_titles: int
    parameters: list[FittedParameter]
    refit: bool = True

    def summary(self) -> str:
        fitted = ", ".join(
            f"{p.column_name} {p.method} {p.parameter_name}={p.parameter_value:.4f}" for p in self.parameters
        )
        if self.refit:
            return f"{self.titles:,} titles -> {self.canonical_titles:,} canonical; {fitted}"
        return f"{self.titles:,} new titles -> {self.canonical_titles:,} canonical; {fitted or 'stored lambdas kept'}"


def balance_value(column: str, text: object) -> float | None:
    """The value dbt reads for this column, or None when dbt would quarantine it: the fit sees
    exactly the balances that can reach the marts (Python's float() also takes 'nan', '1_000')."""
    return load_rules().as_number(text, column)


def usable_title(title: object) -> TypeGuard[str]:
    """A title dbt can keep: text within the declared length (a longer one quarantines its
    record, and could not be a key of the map: PostgreSQL's b-tree limit)."""
    return isinstance(title, str) and len(title.strip(" ")) <= load_rules().max_text_length


def _stream_values(conn: psycopg.Connection) -> Iterator[dict[str, object]]:
    """The JSON objects of the stream (anything else is quarantined by dbt, not used here)."""
    with conn.cursor(name="stream_values") as cursor:
        cursor.execute("select message_value from raw.loan_events")
        for (value,) in cursor:
            try:
                parsed = json.loads(value) if value else None
            except ValueError:
                continue
            if isinstance(parsed, dict):
                yield parsed


@dataclass(frozen=True)
class LandedValues:
    """What the steps fit on, from every landed record, files and stream."""

    titles: Counter[str]  # loans per raw title
    balances: dict[str, list[float | None]]  # each transformed column's values (empty unless asked)


def read_landed_values(conn: psycopg.Connection, *, with_balances: bool) -> LandedValues:
    """Title counts and, when asked, the balance values: one pass over the stream's JSON for both."""
    titles: Counter[str] = Counter()
    balances: dict[str, list[float | None]] = {column: [] for column in TRANSFORMED_COLUMNS}
    # the files' columns by the names they landed under, as the stream's keys below
    title_column = sql.Identifier(RAW_NAMES["emp_title"])
    for title, count in conn.execute(sql.SQL("select {}, count(*) from raw.loans group by 1").format(title_column)):
        if usable_title(title):
            titles[title] += count
    if with_balances:
        balance_columns = sql.SQL(", ").join(sql.Identifier(RAW_NAMES[column]) for column in TRANSFORMED_COLUMNS)
        with conn.cursor(name="balances") as cursor:
            cursor.execute(sql.SQL("select {} from raw.loans").format(balance_columns))
            for row in cursor:
                for column, value in zip(TRANSFORMED_COLUMNS, row, strict=True):
                    balances[column].append(balance_value(column, value))
    for record in _stream_values(conn):
        title = record.get(RAW_NAMES["emp_title"])
        if usable_title(title):
            titles[title] += 1
        if with_balances:
            for column in TRANSFORMED_COLUMNS:
                balances[column].append(balance_value(column, record.get(RAW_NAMES[column])))
    return LandedValues(titles, balances)


def mapped_titles(conn: psycopg.Connection) -> set[str]:
    """The titles the stored map already has (their trimmed form)."""
    return {title for (title,) in conn.execute(f"select raw_title from {SCHEMA}.emp_title_map")}


def fitted_columns(conn: psycopg.Connection) -> set[str]:
    """The columns with a stored fitted transform."""
    return {column for (column,) in conn.execute(f"select distinct column_name from {SCHEMA}.fitted_transforms")}


def write_outputs(
    conn: psycopg.Connection, mappings: list[TitleMapping], parameters: list[FittedParameter], *, refit: bool
) -> None:
    """Store both results in one transaction: dbt sees the old or the new version, never half.

    Without ``refit`` what is stored stays (a title keeps its canonical title, a lambda its
    value) and only new titles are added, so incremental dbt runs never see a fitted value
    change under rows they already wrote. ``refit`` replaces everything (with a full refresh).
    """
    if refit:
        conn.execute(f"truncate {SCHEMA}.emp_title_map, {SCHEMA}.fitted_transforms")
    with conn.cursor() as cursor:
        cursor.execute("create temporary table new_titles (raw_title text, canonical_title text, cluster_key text)")
        with cursor.copy("copy new_titles (raw_title, canonical_title, cluster_key) from stdin") as copy:
            for m in mappings:
                copy.write_row((m.raw_title, m.canonical_title, m.cluster_key))
        cursor.execute(
            f"insert into {SCHEMA}.emp_title_map (raw_title, canonical_title, cluster_key)"
            " select raw_title, canonical_title, cluster_key from new_titles on conflict (raw_title) do nothing"
        )
        cursor.execute("drop table new_titles")
        cursor.executemany(
            f"insert into {SCHEMA}.fitted_transforms (column_name, method, parameter_name, parameter_value,"
            " fitted_rows) values (%s, %s, %s, %s, %s) on conflict do nothing",
            [(p.column_name, p.method, p.parameter_name, p.parameter_value, p.fitted_rows) for p in parameters],
        )
        # Statistics now, not when autovacuum next wakes: dbt builds right after this. Without
        # them PostgreSQL reckons each loan's title to match ~1,000 rows of the map and plans the
        # build's wide joins as merge joins over sorted copies of every loan (int_loans_lagged:
        # 21 s against 12 s at a million loans, on a fresh database).
        cursor.execute(f"analyze {SCHEMA}.emp_title_map, {SCHEMA}.fitted_transforms")


def ensure_tables(conn: psycopg.Connection) -> None:
    ensure_schema(conn, SCHEMA)
    for ddl in _DDL:
        conn.execute(ddl)


def run(settings: Settings, *, refit: bool = True) -> StepsReport:
    """Fit both steps on everything landed so far and store their tables (see write_outputs for refit).

    Without ``refit`` only what would be stored is computed: the new titles (mapped as they
    would be among all titles) and a lambda only for a column that has none yet. Recomputing
    the whole map and both lambdas, to keep none of it, took ~20 s at a million loans.
    """
    # A transform step: it runs as dbt does, as the transformer (reads raw, owns python_steps).
    ensure_raw_tables_exist(settings, settings.role_dsn("transformer"))
    with connect(settings, role="transformer") as conn:
        ensure_tables(conn)
        fitted = set() if refit else fitted_columns(conn)
        landed = read_landed_values(conn, with_balances=not set(TRANSFORMED_COLUMNS) <= fitted)
        mappings = canonical_titles(landed.titles, skip=set() if refit else mapped_titles(conn))
        parameters = [
            fit_yeo_johnson(column, values)
            for column, values in landed.balances.items()
            if column not in fitted and can_fit(column, values)
        ]
        write_outputs(conn, mappings, parameters, refit=refit)
    report = StepsReport(len(mappings), len({m.canonical_title for m in mappings}), parameters, refit)
    log.info("python steps: %s", report.summary())
    return report
