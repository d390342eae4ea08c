"""Page "/": the five portfolio questions, each chart titled by its question."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from dashboard import data, figures
from dashboard.layout import cached_figure, graph, guarded

STATE_FILTER = "state-filter"
YEAR_FILTER = "year-filter"
SCATTER = "income-vs-amount"
MONTHLY = "loans-per-month"


def state_options(states: list[tuple[str, str]]) -> list[dict[str, str]]:
    """All states first (the default), then each state by name."""
    return [{"label": "All states", "value": data.ALL_STATES}] + [
        {"label": code if name in (None, code) else f"{name} ({code})", "value": code} for code, name in states
    ]


def year_options(years: list[int]) -> list[dict[str, Any]]:
    return [{"label": "All years", "value": data.ALL_YEARS}] + [{"label": str(y), "value": y} for y in years]


def default_year(years: list[int]) -> int | str:
    """The latest year: the portfolio team looks at the current year first."""
    return years[-1] if years else data.ALL_YEARS


def scope_label(state_filter: object, states: list[tuple[str, str]]) -> str:
    if state_filter in (None, data.ALL_STATES):
        return "All states"
    return dict(states).get(str(state_filter), "Unknown state")


def year_label(year_filter: object) -> str:
    return "All years" if year_filter in (None, data.ALL_YEARS) else f"Loans issued in {year_filter}"


def income_vs_amount_figure(reader: data.MartsReader, state_filter: object) -> Any:
    """Question 2 for one value of the state filter (cached per value and marts version)."""

    def build() -> Any:
        sample = reader.scatter_sample(state_filter)
        return figures.income_vs_amount(sample, scope_label(state_filter, reader.states()))

    return cached_figure(reader, ("income_vs_amount", data.cache_key(state_filter)), build)


def loans_per_month_figure(reader: data.MartsReader, year_filter: object) -> Any:
    """Question 3 for one value of the year filter (cached per value and marts version)."""

    def build() -> Any:
        return figures.loans_per_month(reader.loans_per_month(year_filter), year_label(year_filter))

    return cached_figure(reader, ("loans_per_month", data.cache_key(year_filter)), build)


def _filter(label: str, dropdown_id: str, dropdown: dcc.Dropdown) -> html.Div:
    return html.Div([html.Label(label, htmlFor=dropdown_id), dropdown], className="filter")


def _section(*children: Any) -> html.Section:
    return html.Section(list(children), className="panel")


def _build() -> html.Div:
    reader = data.reader()
    years = reader.years()
    year = default_year(years)
    amount_by_grade = cached_figure(
        reader, "amount_by_grade", lambda: figures.amount_by_grade(reader.amount_by_grade())
    )
    by_state = cached_figure(
        reader, "avg_amount_by_state", lambda: figures.avg_amount_by_state(reader.avg_amount_by_state())
    )
    by_grade = cached_figure(reader, "loans_by_grade", lambda: figures.loans_by_grade(reader.loans_by_grade()))
    return html.Div(
        [
            _section(graph("amount-by-grade", amount_by_grade)),
            _section(
                _filter(
                    "State",
                    STATE_FILTER,
                    dcc.Dropdown(
                        id=STATE_FILTER,
                        options=state_options(reader.states()),
                        value=data.ALL_STATES,
                        clearable=False,
                    ),
                ),
                graph(SCATTER, income_vs_amount_figure(reader, data.ALL_STATES)),
            ),
            _section(
                _filter(
                    "Year",
                    YEAR_FILTER,
                    dcc.Dropdown(id=YEAR_FILTER, options=year_options(years), value=year, clearable=False),
                ),
                graph(MONTHLY, loans_per_month_figure(reader, year)),
            ),
            _section(graph("avg-amount-by-state", by_state)),
            _section(graph("loans-by-grade", by_grade)),
        ],
        className="grid",
    )


def layout(**_query: Any) -> Any:
    return guarded(_build)


def register() -> None:
    dash.register_page(__name__, path="/", name="Portfolio", title="lendflow · portfolio", order=0, layout=layout)
