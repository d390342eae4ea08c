"""The edge of the Python steps: read raw, call the pure functions, write python_steps.* tables."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

import psycopg
from psycopg import sql

from lendflow.db import connect, ensure_schema
from lendflow.raw_tables import ensure_raw_tables_exist
from lendflow.settings import Settings
from python_steps.inputs import (
    INPUT_COLUMNS,
    TITLE_COLUMN,
    InputRow,
    LandedValues,
    file_rows,
    fold_landed_values,
    stream_rows,
)
from python_steps.titles import TitleMapping, TitleTally
from python_steps.transforms import TRANSFORMED_COLUMNS, FittedParameter, can_fit, fit_yeo_johnson

log = logging.getLogger(__name__)

SCHEMA = "python_steps"

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


def _stream_values(conn: psycopg.Connection) -> Iterator[str | None]:
    with conn.cursor(name="stream_values") as cursor:
        cursor.execute("select message_value from raw.loan_events")
        yield from (value for (value,) in cursor)


def _file_rows(conn: psycopg.Connection, *, with_balances: bool) -> Iterator[InputRow]:
    """raw.loans' input rows: every row with its balances, or else only the titles, grouped."""
    if not with_balances:
        title = sql.Identifier(TITLE_COLUMN)
        for found, count in conn.execute(sql.SQL("select {}, count(*) from raw.loans group by 1").format(title)):
            yield (found,), count
        return
    with conn.cursor(name="balances") as cursor:
        columns = sql.SQL(", ").join(map(sql.Identifier, INPUT_COLUMNS))
        cursor.execute(sql.SQL("select {} from raw.loans").format(columns))
        yield from file_rows(cursor)


def read_landed_values(conn: psycopg.Connection, *, with_balances: bool) -> LandedValues:
    """Title counts and, when asked, the balance values of every landed record, files then stream."""
    rows = chain(_file_rows(conn, with_balances=with_balances), stream_rows(_stream_values(conn)))
    return fold_landed_values(rows, with_balances=with_balances)


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
        # build's wide joins as merge joins over sorted copies of every loan, nearly twice as slow.
        cursor.execute(f"analyze {SCHEMA}.emp_title_map, {SCHEMA}.fitted_transforms")


def ensure_tables(conn: psycopg.Connection) -> None:
    ensure_schema(conn, SCHEMA)
    for ddl in _DDL:
        conn.execute(ddl)


def _run(settings: Settings, *, refit: bool) -> tuple[StepsReport, TitleTally, bool]:
    """The report, the title counts, and whether every transformed column now has its lambda."""
    # A transform step: it runs as dbt does, as the transformer (reads raw, owns python_steps).
    ensure_raw_tables_exist(settings, settings.role_dsn("transformer"))
    with connect(settings, role="transformer") as conn:
        ensure_tables(conn)
        fitted = set() if refit else fitted_columns(conn)
        landed = read_landed_values(conn, with_balances=not set(TRANSFORMED_COLUMNS) <= fitted)
        titles = TitleTally.of(landed.titles, mapped=set() if refit else mapped_titles(conn))
        mappings = titles.new_mappings()
        parameters = [
            fit_yeo_johnson(column, values)
            for column, values in landed.balances.items()
            if column not in fitted and can_fit(column, values)
        ]
        write_outputs(conn, mappings, parameters, refit=refit)
    titles.mark_mapped(mappings)
    report = StepsReport(len(mappings), len({m.canonical_title for m in mappings}), parameters, refit)
    log.info("python steps: %s", report.summary())
    all_fitted = set(TRANSFORMED_COLUMNS) <= fitted | {p.column_name for p in parameters}
    return report, titles, all_fitted


def run(settings: Settings, *, refit: bool = True) -> StepsReport:
    """Fit both steps on everything landed so far and store their tables (see write_outputs for refit).

    Without ``refit`` only what would be stored is computed: the new titles (mapped as they
    would be among all titles) and a lambda only for a column that has none yet: recomputing
    the whole map and both lambdas only to keep none of it would cost seconds per million loans.
    """
    return _run(settings, refit=refit)[0]


class StreamSteps:
    """The Python steps of a long-lived stream process: what ``run(refit=False)`` stores, at
    the cost of the batch instead of every landed record.

    ``catch_up`` is that full run, and keeps every title's count in memory; ``add_batch``
    then counts the titles of a landed batch and maps those not mapped yet. The records of a
    batch file landed meanwhile count from the next ``catch_up``: the stream process calls
    it first, and again when ``files_changed``.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._titles: TitleTally | None = None
        self._all_fitted = False
        self._files: tuple[object, ...] = ()

    @property
    def caught_up(self) -> bool:
        """Whether add_batch can do the rest: the titles are counted and every lambda is fitted
        (a column without one, on too few values so far, is fitted by the next full run)."""
        return self._titles is not None and self._all_fitted

    def catch_up(self) -> StepsReport:
        # read first: a file landed during the run shows as a change at the next check
        self._files = self._landed_files()
        report, self._titles, self._all_fitted = _run(self._settings, refit=False)
        return report

    def files_changed(self) -> bool:
        """Whether a batch file was landed (or withdrawn) since the last catch-up. Events that
        other consumers land are mapped by their own pipeline's Python steps (the DAG runs them)."""
        return self._landed_files() != self._files

    def _landed_files(self) -> tuple[object, ...]:
        ensure_raw_tables_exist(self._settings, self._settings.role_dsn("transformer"))
        with connect(self._settings, role="transformer") as conn:
            row = conn.execute(
                "select count(*), coalesce(sum(rows_landed), 0), max(landed_at) from raw.landed_files"
            ).fetchone()
        return tuple(row or ())

    def add_batch(self, message_values: Iterable[str | None]) -> StepsReport:
        """Map the new titles among these messages (and any a failed write left unmapped)."""
        if self._titles is None or not self._all_fitted:
            return self.catch_up()
        self._titles.add(fold_landed_values(stream_rows(message_values), with_balances=False).titles)
        mappings = self._titles.new_mappings()
        if mappings:
            with connect(self._settings, role="transformer") as conn:
                write_outputs(conn, mappings, [], refit=False)
            self._titles.mark_mapped(mappings)
        return StepsReport(len(mappings), len({m.canonical_title for m in mappings}), [], refit=False)
