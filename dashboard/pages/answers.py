"""Page "/answers": the five business questions (DATA.md), each answered by its rpt_ mart."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import data
from dashboard.charts import answers as charts
from dashboard.layout import cached_figure, graph, guarded

BODY = "answers-body"
SOURCES = {name: f"marts.rpt_{name}" for name in charts.BUSINESS_QUESTIONS}


def _panel(name: str) -> html.Section:
    def build() -> Any:
        reader = data.reader()
        figure = cached_figure(reader, ("answer", name), lambda: charts.ANSWER_FIGURES[name](reader.answer(name)))
        return graph(f"answer-{name.replace('_', '-')}", figure)

    return html.Section(
        [guarded(build), html.P(f"answered by {SOURCES[name]}", className="answer")],
        className="panel" + (" panel-wide" if name == "amount_change_by_state_grade" else ""),
    )


def body() -> list[html.Section]:
    """The page's panels: drawn with the page, and again on a new marts version (callbacks.py)."""
    # Each panel is guarded on its own: one mart not built yet leaves the others standing.
    return [_panel(name) for name in charts.BUSINESS_QUESTIONS]


def layout(**_query: Any) -> Any:
    return html.Div(body(), className="grid", id=BODY)


def register() -> None:
    dash.register_page(
        __name__, path="/answers", name="Business answers", title="lendflow · business answers", order=1, layout=layout
    )
