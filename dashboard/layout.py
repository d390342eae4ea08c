"""The page shell (title, navigation, portfolio totals) and small shared layout pieces."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import dash
import psycopg
from dash import dcc, html
from psycopg_pool import PoolTimeout

from dashboard import data

log = logging.getLogger(__name__)

GRAPH_CONFIG = {"displaylogo": False}
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


def format_timestamp(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


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


def header() -> html.Header:
    def build() -> Any:
        totals = data.reader().portfolio_totals()
        cards = [
            html.Div([html.Div(value, className="kpi-value"), html.Div(label, className="kpi-label")], className="kpi")
            for label, value in totals_cards(totals)
        ]
        built = html.Div(f"data built {format_timestamp(totals.get('built_at'))}", className="built-at")
        return html.Div([html.Div(cards, className="kpis", id="portfolio-totals"), built])

    nav = html.Nav(
        [
            dcc.Link(page["name"], href=page["relative_path"], className="nav-link")
            for page in dash.page_registry.values()
        ],
        className="nav",
    )
    return html.Header([html.Div([html.H1("lendflow portfolio"), nav], className="title-row"), guarded(build)])


def shell() -> html.Div:
    """The whole app's layout, rebuilt on every page load so the totals are current."""
    return html.Div([header(), html.Main(dash.page_container)], className="app")
