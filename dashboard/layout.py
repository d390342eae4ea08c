"""The page shell (title, navigation, portfolio totals) and small shared layout pieces."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import dash
import pandas as pd
import psycopg
from dash import dcc, html
from psycopg_pool import PoolTimeout

from dashboard import data

log = logging.getLogger(__name__)

GRAPH_CONFIG = {"displaylogo": False}
HEADER_BODY = "header-body"
FRESHNESS = "freshness"
MARTS_VERSION = "marts-version"
VERSION_TICK = "marts-version-tick"
# How often an open page asks the server for the marts version (an in-memory read there).
VERSION_POLL_MS = 2_000
NOT_BUILT = "The marts are not built yet: run `lendflow run` (it lands the sample and runs dbt build)."
UNREACHABLE_ERRORS = (psycopg.OperationalError, PoolTimeout)
UNREACHABLE = "Cannot reach the warehouse right now (is PostgreSQL running? `lendflow status`); retry in a moment."


def graph(graph_id: str, figure: Any = None) -> dcc.Graph:
    """A chart; with a figure, drawn at once (no callback round trip on first load)."""
    props: dict[str, Any] = {"id": graph_id, "config": GRAPH_CONFIG, "className": "chart"}
    if figure is not None:
        props["figure"] = figure
    return dcc.Graph(**props)


def cached_figure(reader: data.MartsReader, key: Hashable, build: Callable[[], Any]) -> dict[str, Any]:
    """A figure's JSON form, built once per key and marts version.

    Cached as the plain dict Dash sends, so a repeat costs neither Plotly's validation
    nor its conversion (both cost more than the query behind the chart).
    """

    def as_json() -> dict[str, Any]:
        figure = build()
        return figure if isinstance(figure, dict) else figure.to_plotly_json()

    return dict(reader.cached(("figure", key), as_json))


def notice(message: str) -> html.Div:
    return html.Div(message, className="notice")


def guarded(build: Callable[[], Any]) -> Any:
    """The page (or panel) `build` draws, or a notice if the marts it reads are missing."""
    try:
        return build()
    except data.MartMissing as error:
        log.warning("dashboard: %s", error)
        return notice(NOT_BUILT)
    except UNREACHABLE_ERRORS as error:
        log.warning("dashboard: warehouse unreachable: %s", error)
        return notice(UNREACHABLE)


def format_money(value: Any) -> str:
    return "-" if value is None else f"${float(value):,.0f}"


def format_count(value: Any) -> str:
    return "-" if value is None else f"{int(value):,}"


def format_pct(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}%"


def format_timestamp(value: Any, pattern: str = "%Y-%m-%d %H:%M UTC") -> str:
    if value is None or value is pd.NaT:
        return "-"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime(pattern)
    return str(value)


def freshness_line(freshness: Mapping[str, Any]) -> str:
    """The header's line on how fresh the data is (to the second: new loans arrive continuously)."""

    def stamp(column: str) -> str:
        return format_timestamp(freshness.get(column), "%Y-%m-%d %H:%M:%S UTC")

    return f"newest loan landed {stamp('newest_landed_at')} · marts built {stamp('built_at')}"


def totals_cards(totals: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs of the header, from the one row of dash_portfolio_totals."""
    if not totals:
        return []
    rate = totals.get("avg_int_rate")
    return [
        ("loans", format_count(totals.get("loans"))),
        ("total lent", format_money(totals.get("total_loan_amount"))),
        ("average loan", format_money(totals.get("avg_loan_amount"))),
        ("average interest rate", "-" if rate is None else format_pct(100 * float(rate), 2)),
        ("defaulted", format_pct(totals.get("default_rate_pct"))),
        ("states", format_count(totals.get("states"))),
        ("issued", f"{totals.get('first_issue_date')} to {totals.get('last_issue_date')}"),
    ]


def header_body() -> Any:
    """The totals and the freshness line: drawn with the page, and again on a new marts version."""

    def build() -> Any:
        reader = data.reader()
        totals = reader.portfolio_totals()
        cards = [
            html.Div([html.Div(value, className="kpi-value"), html.Div(label, className="kpi-label")], className="kpi")
            for label, value in totals_cards(totals)
        ]
        fresh = html.Div(freshness_line(reader.freshness()), className="built-at", id=FRESHNESS)
        return html.Div([html.Div(cards, className="kpis", id="portfolio-totals"), fresh])

    return guarded(build)


def header() -> html.Header:

    nav = html.Nav(
        [
            dcc.Link(page["name"], href=page["relative_path"], className="nav-link")
            for page in dash.page_registry.values()
        ],
        className="nav",
    )
    title = html.Div([html.H1("lendflow portfolio"), nav], className="title-row")
    return html.Header([title, html.Div(header_body(), id=HEADER_BODY)])


def live_updates() -> list[Any]:
    """What keeps an open page current: the marts version it shows, and a timer that asks the
    server (callbacks.py) whether it knows a newer one. Only a changed version redraws."""
    try:
        shown = data.reader().version()
    except UNREACHABLE_ERRORS:
        shown = ""  # the first version the server reads will redraw the page
    return [dcc.Store(id=MARTS_VERSION, data=shown), dcc.Interval(id=VERSION_TICK, interval=VERSION_POLL_MS)]


def shell() -> html.Div:
    """The whole app's layout, rebuilt on every page load so the totals are current."""
    return html.Div([*live_updates(), header(), html.Main(dash.page_container)], className="app")
