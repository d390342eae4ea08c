"""Page "/quality": rows landed, rejected and quarantined (with reasons), freshness, the last run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import dash
import pandas as pd
from dash import html

from dashboard import data
from dashboard.charts import quality as charts
from dashboard.layout import format_count, format_timestamp, graph, guarded

BODY = "quality-body"


def age(value: Any, now: dt.datetime) -> str:
    """'3 min ago', '2 h ago', '4 days ago' (or '-' for never)."""
    if not isinstance(value, dt.datetime):
        return "-"
    seconds = max(0.0, (now - value).total_seconds())
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _table(frame: pd.DataFrame, columns: Sequence[tuple[str, str, bool]], empty: str) -> html.Table:
    """An HTML table of (column, heading, numeric) from a frame; one row saying `empty` if none."""
    head = html.Thead(html.Tr([html.Th(h, className="num" if n else None) for _, h, n in columns]))
    if frame.empty:
        return html.Table([head, html.Tbody(html.Tr(html.Td(empty, colSpan=len(columns))))], className="dq")
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for column, _, numeric in columns:
            value = record.get(column)
            if numeric:
                cells.append(html.Td(format_count(value), className="num"))
            elif isinstance(value, dt.datetime):
                cells.append(html.Td(format_timestamp(value)))
            else:
                cells.append(html.Td("-" if value is None else str(value)))
        rows.append(html.Tr(cells))
    return html.Table([head, html.Tbody(rows)], className="dq")


def _run_status(run: dict[str, Any]) -> html.Div:
    if not run:
        return html.Div("no dbt run recorded yet")
    status = str(run["status"])
    css = "status-ok" if status == "success" else "status-bad"
    detail = (
        f"dbt {run['command']} finished {format_timestamp(run['finished_at'])}: {int(run['nodes'])} nodes, "
        f"{int(run['errors'])} errors, {int(run['failures'])} test failures, {int(run['warnings'])} warnings"
    )
    return html.Div([html.Span(status, className=css, id="last-run-status"), html.Span(" " + detail)])


def _build() -> html.Div:
    reader = data.reader()
    summary = reader.dq_summary()
    now = dt.datetime.now(dt.UTC)
    freshness = [
        ("newest file landed", summary.get("last_file_landed_at")),
        ("newest stream record", summary.get("last_stream_landed_at")),
        ("marts built", summary.get("built_at")),
    ]
    files = reader.dq_files()
    if not files.empty:
        files["source_file"] = files["source_file"].map(lambda path: PurePath(str(path)).name)
    return html.Div(
        [
            html.Section(
                [
                    html.H2("Freshness and the last run"),
                    html.Table(
                        html.Tbody(
                            [
                                html.Tr([html.Th(label), html.Td(format_timestamp(when)), html.Td(age(when, now))])
                                for label, when in freshness
                            ]
                        ),
                        className="dq",
                    ),
                    html.H2("Last dbt run", style={"marginTop": "12px"}),
                    _run_status(reader.last_dbt_run()),
                ],
                className="panel",
            ),
            html.Section(graph("dq-flow", charts.landed_rows_flow(summary)), className="panel"),
            html.Section(
                [
                    html.H2("Quarantined and rejected records, by reason"),
                    _table(
                        reader.dq_reasons(),
                        [
                            ("record_source", "source", False),
                            ("quarantine_stage", "stage", False),
                            ("quarantine_reason", "reason", False),
                            ("records", "records", True),
                            ("last_landed_at", "newest", False),
                        ],
                        "none: every record was kept",
                    ),
                ],
                className="panel",
            ),
            html.Section(
                [
                    html.H2("Landed files (newest 20)"),
                    _table(
                        files,
                        [
                            ("source_file", "file", False),
                            ("rows_read", "read", True),
                            ("rows_landed", "landed", True),
                            ("rows_rejected", "rejected", True),
                            ("landed_at", "landed at", False),
                        ],
                        "no file landed yet",
                    ),
                ],
                className="panel",
            ),
        ],
        className="grid",
    )


def body() -> Any:
    """The page's content: drawn with the page, and again on a new marts version (callbacks.py)."""
    return guarded(_build)


def layout(**_query: Any) -> Any:
    return html.Div(body(), id=BODY)


def register() -> None:
    dash.register_page(
        __name__, path="/quality", name="Data quality", title="lendflow · data quality", order=2, layout=layout
    )
