"""The callbacks: a filter changes, or the marts do, and what shows them is redrawn.
Layout lives in pages/ and layout.py, data in data.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dash import Input, Output, State, callback, no_update

from dashboard import data
from dashboard.charts.portfolio import QUESTIONS
from dashboard.charts.theme import empty_figure
from dashboard.layout import (
    HEADER_BODY,
    MARTS_VERSION,
    NOT_BUILT,
    UNREACHABLE,
    UNREACHABLE_ERRORS,
    VERSION_TICK,
    header_body,
)
from dashboard.pages import answers, quality
from dashboard.pages.portfolio import (
    AMOUNT_BY_GRADE,
    AVG_AMOUNT_BY_STATE,
    LOANS_BY_GRADE,
    MONTHLY,
    SCATTER,
    STATE_FILTER,
    YEAR_FILTER,
    amount_by_grade_figure,
    avg_amount_by_state_figure,
    income_vs_amount_figure,
    loans_by_grade_figure,
    loans_per_month_figure,
)

# --- a new build reaches an open page ------------------------------------------------------
# Each tick of an open page asks for the version the server already holds in memory (its
# watcher reads the catalog once a second per process, whatever the number of viewers); the
# page's store changes only when that version differs from the one it shows, and only then do
# the callbacks below it run, each drawing from the server's cache for the new version.


@callback(
    Output(MARTS_VERSION, "data"),
    Input(VERSION_TICK, "n_intervals"),
    State(MARTS_VERSION, "data"),
    prevent_initial_call=True,
)
def follow_marts_version(_tick: Any, shown: Any) -> Any:
    newer = data.newer_version(data.reader().known_version(), shown)
    return no_update if newer is None else newer


@callback(Output(HEADER_BODY, "children"), Input(MARTS_VERSION, "data"), prevent_initial_call=True)
def redraw_header(_version: Any) -> Any:
    return header_body()


def _redraw_page_on_new_version(body_id: str, body: Callable[[], Any]) -> None:
    """A page without filters is drawn again whole (from the cache) for a new marts version."""
    callback(Output(body_id, "children"), Input(MARTS_VERSION, "data"), prevent_initial_call=True)(
        lambda _version: body()
    )


_redraw_page_on_new_version(answers.BODY, answers.body)
_redraw_page_on_new_version(quality.BODY, quality.body)


def _figure_or_notice(question: str, draw: Callable[[], Any]) -> Any:
    """The figure `draw` makes, or the chart's empty frame saying why there is none."""
    try:
        return draw()
    except data.MartMissing:
        return empty_figure(QUESTIONS[question], NOT_BUILT)
    except UNREACHABLE_ERRORS:
        return empty_figure(QUESTIONS[question], UNREACHABLE)


# The page draws every chart with its default filters itself (see pages/portfolio.py), so
# these run only when a filter or the marts version changes: a first load needs no round trip.


@callback(
    Output(AMOUNT_BY_GRADE, "figure"),
    Output(AVG_AMOUNT_BY_STATE, "figure"),
    Output(LOANS_BY_GRADE, "figure"),
    Input(MARTS_VERSION, "data"),
    prevent_initial_call=True,
)
def redraw_unfiltered_charts(_version: Any) -> tuple[Any, Any, Any]:
    reader = data.reader()
    return (
        _figure_or_notice("amount_by_grade", lambda: amount_by_grade_figure(reader)),
        _figure_or_notice("avg_amount_by_state", lambda: avg_amount_by_state_figure(reader)),
        _figure_or_notice("loans_by_grade", lambda: loans_by_grade_figure(reader)),
    )


def _redraw_filtered_chart(
    graph_id: str, filter_id: str, question: str, figure: Callable[[data.MartsReader, Any], Any]
) -> None:
    """A chart with a filter is drawn again for a new filter value, and for a new marts version
    with the value the page shows."""
    callback(
        Output(graph_id, "figure"),
        Input(filter_id, "value"),
        Input(MARTS_VERSION, "data"),
        prevent_initial_call=True,
    )(lambda choice, _version: _figure_or_notice(question, lambda: figure(data.reader(), choice)))


_redraw_filtered_chart(SCATTER, STATE_FILTER, "income_vs_amount", income_vs_amount_figure)
_redraw_filtered_chart(MONTHLY, YEAR_FILTER, "loans_per_month", loans_per_month_figure)
