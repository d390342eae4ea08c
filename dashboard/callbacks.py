"""The callbacks: a filter changes, a chart is redrawn. Layout lives in pages/, data in data.py."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, callback

from dashboard import data
from dashboard.charts.portfolio import QUESTIONS
from dashboard.charts.theme import empty_figure
from dashboard.layout import NOT_BUILT, UNREACHABLE, UNREACHABLE_ERRORS
from dashboard.pages.portfolio import (
    MONTHLY,
    SCATTER,
    STATE_FILTER,
    YEAR_FILTER,
    income_vs_amount_figure,
    loans_per_month_figure,
)

# The page draws both charts with their default filters itself (see pages/portfolio.py), so
# these run only when a filter changes: a first load needs no callback round trip.


@callback(Output(SCATTER, "figure"), Input(STATE_FILTER, "value"), prevent_initial_call=True)
def draw_income_vs_amount(state_filter: Any) -> Any:
    try:
        return income_vs_amount_figure(data.reader(), state_filter)
    except data.MartMissing:
        return empty_figure(QUESTIONS["income_vs_amount"], NOT_BUILT)
    except UNREACHABLE_ERRORS:
        return empty_figure(QUESTIONS["income_vs_amount"], UNREACHABLE)


@callback(Output(MONTHLY, "figure"), Input(YEAR_FILTER, "value"), prevent_initial_call=True)
def draw_loans_per_month(year_filter: Any) -> Any:
    try:
        return loans_per_month_figure(data.reader(), year_filter)
    except data.MartMissing:
        return empty_figure(QUESTIONS["loans_per_month"], NOT_BUILT)
    except UNREACHABLE_ERRORS:
        return empty_figure(QUESTIONS["loans_per_month"], UNREACHABLE)
