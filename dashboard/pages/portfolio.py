"""Page "/": the five portfolio questions, each chart titled by its question."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from dashboard import data
from dashboard.charts import portfolio as charts
from dashboard.layout import cached_figure, graph, guarded

STATE_FILTER = "state-filter"
YEAR_FILTER = "year-filter"
SCATTER = "income-vs-amount"
MONTHLY = "loans-per-month"
AMOUNT_BY_GRADE = "amount-by-grade"
AVG_AMOUNT_BY_STATE = "avg-amount-by-state"
LOANS_BY_GRADE = "loans-by-grade"


def state_options(states: list[tuple[str, str]]) -> list[dict[str, str]]:
    """All states first (the default), then each state by name."""
    return [{"label": "All states", "value": data.ALL_STATES}] + [
        {"label": code if name in (None, code) else f"{name} ({code})", "value": code} for code, name in states
    ]


def year_options(years: list[int]) -> list[dict[str, Any]]:
    return [{"label": "All years", "value": data.ALL_YEARS}] + [{"label": str(y), "value": y} for y in years]


def scope_label(scope: str, states: list[tuple[str, str]]) -> str:
    """The title of a parsed state choice (data.parse_state): never the text of a request."""
    return "All states" if scope == data.ALL_STATES else dict(states).get(scope, "Unknown state")


def year_label(year: int | str) -> str:
    """The title of a parsed year choice (data.parse_year): never the text of a request."""
    return "All years" if year == data.ALL_YEARS else f"Loans issued in {int(year)}"


# The filter values of a request are parsed before anything else: the figure cache is keyed
# on the choice (a few known values), so junk values neither grow it nor reach a title.


def income_vs_amount_figure(reader: data.MartsReader, state_filter: object) -> Any:
    """Question 2 for what the state filter selects (cached per choice and marts version)."""
    scope = reader.state_choice(state_filter)

    def build() -> Any:
        return charts.income_vs_amount(reader.scatter_sample(scope), scope_label(scope, reader.states()))

    return cached_figure(reader, ("income_vs_amount", scope), build)


def loans_per_month_figure(reader: data.MartsReader, year_filter: object) -> Any:
    """Question 3 for what the year filter selects (cached per choice and marts version)."""
    year = reader.year_choice(year_filter)

    def build() -> Any:
        return charts.loans_per_month(reader.loans_per_month(year), year_label(year))

    return cached_figure(reader, ("loans_per_month", year), build)


def amount_by_grade_figure(reader: data.MartsReader) -> Any:
    return cached_figure(reader, "amount_by_grade", lambda: charts.amount_by_grade(reader.amount_by_grade()))


def avg_amount_by_state_figure(reader: data.MartsReader) -> Any:
    return cached_figure(
        reader, "avg_amount_by_state", lambda: charts.avg_amount_by_state(reader.avg_amount_by_state())
    )


def loans_by_grade_figure(reader: data.MartsReader) -> Any:
    return cached_figure(reader, "loans_by_grade", lambda: charts.loans_by_grade(reader.loans_by_grade()))


def _filter(label: str, dropdown_id: str, dropdown: dcc.Dropdown) -> html.Div:
    return html.Div([html.Label(label, htmlFor=dropdown_id), dropdown], className="filter")


def _section(*children: Any) -> html.Section:
    return html.Section(list(children), className="panel")


def _build() -> html.Div:
    reader = data.reader()
    years = reader.years()
    year = data.default_year(years)
    return html.Div(
        [
            _section(graph(AMOUNT_BY_GRADE, amount_by_grade_figure(reader))),
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
            _section(graph(AVG_AMOUNT_BY_STATE, avg_amount_by_state_figure(reader))),
            _section(graph(LOANS_BY_GRADE, loans_by_grade_figure(reader))),
        ],
        className="grid",
    )


def layout(**_query: Any) -> Any:
    return guarded(_build)


def register() -> None:
    dash.register_page(__name__, path="/", name="Portfolio", title="lendflow · portfolio", order=0, layout=layout)
