"""Data access for the dashboard: every query it sends, against the marts only.

Rules this module keeps, so the rest of the dashboard need not think about them:

- It connects as the read-only role (``Settings.role_dsn("reader")``), which may select from
  `marts` and nothing else; its sessions are read-only.
- SQL text is fixed here. A filter value from a request is parsed first into one of the
  values the marts hold, or the filter's default (see :func:`parse_state`, :func:`parse_year`);
  only that choice is bound as a parameter, used in a cache key or shown in a page, so junk
  values can neither grow the cache nor be echoed back.
- Results are cached per process and keyed on a *marts version*: a cheap catalog query
  that changes whenever dbt rebuilds (or writes to) any table in `marts`. A rebuild
  therefore invalidates every cached result without the dashboard being told.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from lendflow.settings import Settings

log = logging.getLogger(__name__)

ALL_STATES = "ALL"
ALL_YEARS = "ALL"

# Changes when any relation in `marts`, or any table a `marts` view reads (the aggregate
# tables under the views), is created, rebuilt or written to: dbt's materialisations swap in
# a new relation (new oid, new relfilenode); inserts, updates and deletes move the counters of
# pg_stat_user_tables. A view's reads are its rewrite rule's dependencies in pg_depend. Reads
# only catalogs, so it costs well under a millisecond however large the marts are.
MARTS_VERSION_SQL = """
with marts as (
    select c.oid, c.relkind
    from pg_catalog.pg_class as c
    join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = 'marts' and c.relkind in ('r', 'p', 'v', 'm')
),
read_by_views as (
    select distinct d.refobjid as oid
    from marts
    join pg_catalog.pg_rewrite as r on r.ev_class = marts.oid
    join pg_catalog.pg_depend as d
        on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
        and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid <> marts.oid
    where marts.relkind = 'v'
),
watched as (
    select oid from marts
    union
    select oid from read_by_views
)
select md5(coalesce(string_agg(
           c.oid::text || ':' || c.relfilenode::text || ':'
           || coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0)::text,
           ',' order by c.oid), ''))
from watched
join pg_catalog.pg_class as c on c.oid = watched.oid
left join pg_catalog.pg_stat_user_tables as s on s.relid = c.oid
"""

PORTFOLIO_TOTALS_SQL = "select * from marts.dash_portfolio_totals"
FRESHNESS_SQL = "select newest_landed_at, built_at from marts.dash_freshness"
AMOUNT_BY_GRADE_SQL = "select * from marts.dash_loan_amount_by_grade order by letter_grade"
SCATTER_SAMPLE_SQL = """
select loan_id, addr_state, annual_inc, loan_amount, loan_status, loans_in_scope
from marts.dash_income_amount_sample
where sample_scope = %(scope)s
order by loan_id
"""
STATES_SQL = "select addr_state, state_name from marts.dash_avg_amount_by_state order by state_name, addr_state"
YEARS_SQL = "select distinct issue_year from marts.dash_loans_per_month order by issue_year"
LOANS_PER_MONTH_SQL = """
select issue_year, issue_month, month_start, loans, total_loan_amount
from marts.dash_loans_per_month
where %(year)s::integer is null or issue_year = %(year)s::integer
order by month_start
"""
AVG_AMOUNT_BY_STATE_SQL = """
select addr_state, state_name, loans, avg_loan_amount, amount_rank
from marts.dash_avg_amount_by_state
order by amount_rank
"""
LOANS_BY_GRADE_SQL = "select letter_grade, loans, pct_of_loans from marts.dash_loans_by_grade order by letter_grade"
MART_EXISTS_SQL = "select to_regclass(%(name)s) is not null"

# The five business questions, answered by the dbt engineer's rpt_ marts (fixed names: no
# identifier ever comes from a request).
ANSWER_SQL = {
    "defaults_by_emp_length_income": "select * from marts.rpt_defaults_by_emp_length_income",
    "funding_gap_by_grade": "select * from marts.rpt_funding_gap_by_grade order by gap_rank",
    "verified_amount_by_state": "select * from marts.rpt_verified_amount_by_state order by addr_state",
    "issue_gap_by_grade": "select * from marts.rpt_issue_gap_by_grade order by letter_grade",
    "amount_change_by_state_grade": (
        "select * from marts.rpt_amount_change_by_state_grade order by addr_state, letter_grade"
    ),
}

DQ_SUMMARY_SQL = "select * from marts.dash_dq_summary"
DQ_REASONS_SQL = """
select record_source, quarantine_stage, quarantine_reason, records, last_landed_at
from marts.dash_dq_quarantine_reasons
order by records desc, quarantine_reason
"""
DQ_FILES_SQL = """
select source_file, rows_read, rows_landed, rows_rejected, landed_at
from marts.dash_dq_landed_files
where recency_rank <= %(limit)s
order by recency_rank
"""
# Written by dbt's on-run-end hook (macros/dashboard/record_dbt_run.sql), not a model.
LAST_DBT_RUN_SQL = """
select command, started_at, finished_at, status, nodes, errors, failures, warnings, skipped
from marts.dash_dbt_runs
order by finished_at desc
limit 1
"""


class MartMissing(LookupError):
    """A mart the dashboard reads has not been built (yet): run `lendflow run`."""


# --- filters: pure, so the rules are unit-tested without a database ---------------------


def parse_state(value: object, known_states: Sequence[str]) -> str:
    """A state-filter value as ALL_STATES or one of `known_states`.

    Anything else a browser sends (an SQL fragment, a number, a list, a state that is gone)
    falls back to the default, all states: the result is always one of a few known values.
    """
    if isinstance(value, str) and value in known_states:
        return value
    return ALL_STATES


def default_year(known_years: Sequence[int]) -> int | str:
    """The latest year: the portfolio team looks at the current year first."""
    return max(known_years) if known_years else ALL_YEARS


def parse_year(value: object, known_years: Sequence[int]) -> int | str:
    """A year-filter value as ALL_YEARS or one of `known_years` (a number, or its four digits as
    text); anything else falls back to the default, the latest year."""
    if value == ALL_YEARS:
        return ALL_YEARS
    if isinstance(value, int) and not isinstance(value, bool) and value in known_years:
        return value
    digits = isinstance(value, str) and len(value) == 4 and value.isascii() and value.isdigit()
    if digits and int(str(value)) in known_years:
        return int(str(value))
    return default_year(known_years)


def complete_months(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    """The twelve months of `year`, with 0 loans where the mart has no row (no loans issued)."""
    months = pd.DataFrame({"issue_month": range(1, 13)})
    merged = months.merge(frame[frame["issue_year"] == year], on="issue_month", how="left")
    merged["issue_year"] = year
    merged["month_start"] = pd.to_datetime({"year": year, "month": merged["issue_month"], "day": 1})
    merged["loans"] = merged["loans"].fillna(0).astype("int64")
    merged["total_loan_amount"] = merged["total_loan_amount"].fillna(0.0).astype("float64")
    return merged[["issue_year", "issue_month", "month_start", "loans", "total_loan_amount"]]


# --- the cache ----------------------------------------------------------------------------


class VersionedCache:
    """A bounded LRU cache whose keys include the marts version.

    Entries of an older version are never looked up again and age out of the LRU order;
    there is nothing to invalidate by hand. Thread-safe: gunicorn's threaded workers share it.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
        # Computed outside the lock: a slow query must not hold up cached answers.
        value = compute()
        with self._lock:
            self.misses += 1
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class Rows:
    """A query result as immutable data, safe to share between threads from the cache."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def frame(self) -> pd.DataFrame:
        """A fresh DataFrame: callers may change it without touching the cached rows."""
        return pd.DataFrame(list(self.rows), columns=list(self.columns))


def newer_version(known: str, shown: object) -> str | None:
    """The marts version a page should move to, or None: the one this process knows, when
    it knows one and the page shows another (a page drawn before the process read any keeps
    what it has)."""
    return known if known and known != shown else None


# --- the reader ---------------------------------------------------------------------------


class MartsReader:
    """Runs the dashboard's queries through a small connection pool, cached per marts version."""

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 4,
        cache_entries: int = 512,
        version_ttl_seconds: float = 1.0,
        watch_interval_seconds: float = 1.0,
    ) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._pool_lock = threading.Lock()
        self._pool = self._new_pool()
        self._pool_opened = False
        self.cache = VersionedCache(cache_entries)
        # A page load fires several callbacks at once; one version query serves them all
        # for this long. A rebuild is seen at most this late.
        self._version_ttl = version_ttl_seconds
        self._version: tuple[float, str] | None = None
        self._on_new_version: Callable[[], None] | None = None
        # One thread per process re-reads the version every this many seconds, so that pages
        # can ask for it (known_version) without a query per viewer.
        self._watch_interval = watch_interval_seconds
        self._watch_lock = threading.Lock()
        self._watching_pid: int | None = None

    @classmethod
    def for_settings(cls, settings: Settings, **options: Any) -> MartsReader:
        """The reader the dashboard uses: the read-only role's DSN."""
        return cls(settings.role_dsn("reader"), **options)

    def _new_pool(self) -> ConnectionPool:
        # Opened on first use (open=False), so building the app needs no database.
        return ConnectionPool(
            self._dsn,
            min_size=0,
            max_size=self._pool_size,
            open=False,
            kwargs={"autocommit": True, "connect_timeout": 10, "application_name": "lendflow-dashboard"},
            name="lendflow-dashboard",
        )

    def close(self) -> None:
        with self._pool_lock:
            if self._pool_opened:
                self._pool.close()
                self._pool_opened = False

    def reset_connections(self) -> None:
        """Drop every connection and start a fresh, unopened pool (before a fork: sockets
        and the pool's threads must not be shared between processes). The cache stays."""
        self.close()
        with self._pool_lock:
            self._pool = self._new_pool()

    def _ensure_open(self) -> None:
        with self._pool_lock:
            if not self._pool_opened:
                self._pool.open(wait=False)
                self._pool_opened = True

    def _fetch(self, query: str, params: Mapping[str, Any] | None = None) -> Rows:
        self._ensure_open()
        with self._pool.connection(timeout=10) as conn, conn.cursor() as cur:
            cur.execute(query, params)
            columns = tuple(column.name for column in cur.description or ())
            return Rows(columns, tuple(tuple(row) for row in cur.fetchall()))

    def version(self) -> str:
        """The current marts version (see MARTS_VERSION_SQL), re-read at most every TTL seconds."""
        cached = self._version
        if cached is not None and time.monotonic() - cached[0] < self._version_ttl:
            return cached[1]
        return self.read_version()

    def read_version(self) -> str:
        """Read the marts version now (one catalog query), and warm the cache if it changed."""
        now = time.monotonic()
        cached = self._version
        rows = self._fetch(MARTS_VERSION_SQL).rows
        version = str(rows[0][0]) if rows else ""
        self._version = (now, version)
        if cached is not None and cached[1] != version and self._on_new_version is not None:
            # The marts changed: fill the cache for the new version in the background, so
            # that the next page load does not pay for it (this request goes on meanwhile).
            threading.Thread(target=self._on_new_version, name="dashboard-cache-warm", daemon=True).start()
        return version

    def known_version(self) -> str:
        """The marts version as this process last read it ("" before the first read): no query.

        Starts this process's watcher on first use (after a fork, anew: threads do not survive
        it), which re-reads the version every watch interval; so a page polling this sees a
        new build within about that interval, and the database sees one query per interval
        per process, whatever the number of viewers.
        """
        with self._watch_lock:
            if self._watching_pid != os.getpid():
                self._watching_pid = os.getpid()
                threading.Thread(target=self._watch, name="dashboard-marts-version", daemon=True).start()
        cached = self._version
        return "" if cached is None else cached[1]

    def _watch(self) -> None:
        while True:
            try:
                self.read_version()
            except (psycopg.Error, PoolTimeout) as error:  # the warehouse is away: try again later
                log.warning("dashboard: could not read the marts version: %s", error)
            time.sleep(self._watch_interval)

    def on_new_version(self, warm: Callable[[], None]) -> None:
        """Call `warm` (in a thread of its own) whenever the marts version is seen to change."""
        self._on_new_version = warm

    def query(self, query: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one of this module's queries (cached); raise MartMissing if its mart is absent."""
        key = (self.version(), query, tuple(sorted((params or {}).items())))
        try:
            rows = self.cache.get_or_compute(key, lambda: self._fetch(query, params))
        except Exception as error:
            if getattr(error, "sqlstate", None) == "42P01":  # undefined_table
                raise MartMissing(str(error).splitlines()[0]) from error
            raise
        return rows.frame()

    def cached(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Any derived result (a drawn figure, say), cached under the current marts version.

        Building a Plotly figure costs more than the query behind it; caching the figure
        makes a repeated filter choice cost a dictionary lookup.
        """
        return self.cache.get_or_compute((self.version(), "derived", key), compute)

    # --- what the pages ask for -----------------------------------------------------------

    def portfolio_totals(self) -> dict[str, Any]:
        frame = self.query(PORTFOLIO_TOTALS_SQL)
        return {} if frame.empty else frame.iloc[0].to_dict()

    def freshness(self) -> dict[str, Any]:
        """When the newest loan landed and the marts were built, or {} before dash_freshness exists."""
        return self._optional_row(FRESHNESS_SQL)

    def _optional_row(self, query: str) -> dict[str, Any]:
        """The first row of a query whose mart may not be built yet, or {}."""
        try:
            frame = self.query(query)
        except MartMissing:
            return {}
        return {} if frame.empty else frame.iloc[0].to_dict()

    def amount_by_grade(self) -> pd.DataFrame:
        return self.query(AMOUNT_BY_GRADE_SQL)

    def states(self) -> list[tuple[str, str]]:
        """(code, name) of every state with loans, by name."""
        frame = self.query(STATES_SQL)
        return list(zip(frame["addr_state"], frame["state_name"], strict=True))

    def years(self) -> list[int]:
        return [int(year) for year in self.query(YEARS_SQL)["issue_year"]]

    def state_choice(self, state_filter: object) -> str:
        """What a state-filter value selects: ALL_STATES or a state the marts hold."""
        return parse_state(state_filter, [code for code, _ in self.states()])

    def year_choice(self, year_filter: object) -> int | str:
        """What a year-filter value selects: ALL_YEARS or a year the marts hold."""
        return parse_year(year_filter, self.years())

    def scatter_sample(self, state_filter: object) -> pd.DataFrame:
        """The bounded sample for what a state-filter value selects (state_choice)."""
        return self.query(SCATTER_SAMPLE_SQL, {"scope": self.state_choice(state_filter)})

    def loans_per_month(self, year_filter: object) -> pd.DataFrame:
        """Loans per month of the year a year-filter value selects (all twelve months), or of every year."""
        year = self.year_choice(year_filter)
        frame = self.query(LOANS_PER_MONTH_SQL, {"year": None if year == ALL_YEARS else year})
        return complete_months(frame, year) if isinstance(year, int) else frame

    def avg_amount_by_state(self) -> pd.DataFrame:
        return self.query(AVG_AMOUNT_BY_STATE_SQL)

    def loans_by_grade(self) -> pd.DataFrame:
        return self.query(LOANS_BY_GRADE_SQL)

    def answer(self, name: str) -> pd.DataFrame:
        """The mart answering one business question (a key of ANSWER_SQL)."""
        return self.query(ANSWER_SQL[name])

    def dq_summary(self) -> dict[str, Any]:
        frame = self.query(DQ_SUMMARY_SQL)
        return {} if frame.empty else frame.iloc[0].to_dict()

    def dq_reasons(self) -> pd.DataFrame:
        return self.query(DQ_REASONS_SQL)

    def dq_files(self, limit: int = 20) -> pd.DataFrame:
        return self.query(DQ_FILES_SQL, {"limit": limit})

    def last_dbt_run(self) -> dict[str, Any]:
        """The newest dbt invocation, or {} if none was recorded yet."""
        return self._optional_row(LAST_DBT_RUN_SQL)

    def mart_exists(self, name: str) -> bool:
        """Whether marts.<name> exists (the optional panels are drawn only then)."""
        frame = self.query(MART_EXISTS_SQL, {"name": f"marts.{name}"})
        return bool(frame.iloc[0, 0])


# --- the one reader of this process ---------------------------------------------------------

_reader: MartsReader | None = None


def configure(reader: MartsReader) -> None:
    """Set the reader the pages and callbacks use (create_app does this)."""
    global _reader
    if _reader is not None and _reader is not reader:
        _reader.close()
    _reader = reader


def reader() -> MartsReader:
    if _reader is None:
        raise RuntimeError("dashboard.data.configure() was not called: build the app with create_app()")
    return _reader
