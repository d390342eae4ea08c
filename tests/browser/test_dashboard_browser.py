"""The dashboard in real headless Chromium, served by `lendflow dashboard` over a built warehouse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard.figures import QUESTIONS, question_of
from lendflow.settings import Settings
from tests.browser.conftest import DIRTY_REASONS, owner_query

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PORTFOLIO_CHARTS = {
    "amount-by-grade": QUESTIONS["amount_by_grade"],
    "income-vs-amount": QUESTIONS["income_vs_amount"],
    "loans-per-month": QUESTIONS["loans_per_month"],
    "avg-amount-by-state": QUESTIONS["avg_amount_by_state"],
    "loans-by-grade": QUESTIONS["loans_by_grade"],
}
INJECTIONS = [
    "CA' OR '1'='1",
    "'; drop table marts.fct_loans; --",
    "ALL'; update marts.dash_portfolio_totals set loans = 0; --",
    "2019 or 1=1",
]

# What a chart has drawn: its title and, per trace, the points plotly.js computed.
CHART_JS = """(id) => {
  const gd = document.querySelector('#' + id + ' .js-plotly-plot');
  if (!gd || !gd.calcdata || !gd.layout.title) return null;
  return {
    title: gd.layout.title.text,
    traces: gd._fullData.map((t, i) => ({
      name: t.name, points: gd.calcdata[i].length, x: Array.from(t.x || []), y: Array.from(t.y || []),
    })),
  };
}"""


class BrowserPage:
    """A page that records every console error and uncaught exception."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(str(message.text))

    def open(self, path: str = "/") -> None:
        self.page.goto(self.base_url + path)

    def chart(self, graph_id: str) -> dict[str, Any]:
        self.page.wait_for_function(f"({CHART_JS})('{graph_id}') !== null", timeout=20_000)
        return dict(self.page.evaluate(CHART_JS, graph_id))

    def chart_after_change(self, graph_id: str, before: dict[str, Any]) -> dict[str, Any]:
        """The chart once it differs from `before` (a callback redrew it)."""
        self.page.wait_for_function(
            f"JSON.stringify(({CHART_JS})('{graph_id}')) !== {json.dumps(json.dumps(before, separators=(',', ':')))}",
            timeout=20_000,
        )
        return self.chart(graph_id)

    def choose(self, dropdown_id: str, value: str) -> None:
        """Open a Dash 4 dropdown and click the option with this value, as a user does."""
        self.page.click(f"#{dropdown_id}")
        self.page.click(f".dash-dropdown-option:has(input[value='{value}'])")

    def shown_value(self, dropdown_id: str) -> str:
        return str(self.page.inner_text(f"#{dropdown_id}-value")).strip()


def points(chart: dict[str, Any]) -> int:
    return sum(trace["points"] for trace in chart["traces"])


@pytest.fixture()
def browser_page(browser: Any, dashboard_url: str) -> Iterator[BrowserPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = BrowserPage(context.new_page(), dashboard_url)
    yield page
    context.close()


def test_every_portfolio_chart_is_titled_by_its_question_and_drawn_with_data(
    browser_page: BrowserPage, dashboard_settings: Settings
) -> None:
    browser_page.open("/")
    for graph_id, question in PORTFOLIO_CHARTS.items():
        chart = browser_page.chart(graph_id)
        assert question_of(chart["title"]) == question
        assert points(chart) > 0, f"{graph_id} drew nothing"
    (states,) = owner_query(dashboard_settings, "select count(distinct addr_state) from marts.fct_loans")[0]
    assert points(browser_page.chart("avg-amount-by-state")) == states
    bars = browser_page.chart("avg-amount-by-state")["traces"][0]["y"]
    assert bars == sorted(bars, reverse=True), "states are not highest first"
    assert round(sum(browser_page.chart("loans-by-grade")["traces"][0]["y"]), 6) == 100
    (loans,) = owner_query(dashboard_settings, "select count(*) from marts.fct_loans")[0]
    assert f"{loans:,}" in browser_page.page.inner_text("#portfolio-totals")
    assert browser_page.errors == []


# The margins a chart was given, and those plotly.js drew it with (automargin widens them).
MARGINS_JS = """(id) => {
  const layout = document.querySelector('#' + id + ' .js-plotly-plot')._fullLayout;
  return [['l', 'r', 't', 'b'].map(k => layout.margin[k]), ['l', 'r', 't', 'b'].map(k => layout._size[k])];
}"""


def test_the_first_load_stays_light(browser_page: BrowserPage) -> None:
    """What keeps the first load fast: every chart fits the margins it was given (so plotly.js
    draws it once, not a second time for automargin), and the page loads regenerator-runtime
    instead of Dash's @babel/polyfill (dashboard/app.py, figures.py)."""
    browser_page.open("/")
    for graph_id in PORTFOLIO_CHARTS:
        browser_page.chart(graph_id)
        given, drawn = browser_page.page.evaluate(MARGINS_JS, graph_id)
        assert drawn == given, f"{graph_id}: automargin widened the margins {given} to {drawn}"
    scripts = browser_page.page.evaluate("Array.from(document.scripts, script => script.src)")
    assert [src for src in scripts if "polyfill" in src] == []
    assert browser_page.page.evaluate("typeof regeneratorRuntime.mark") == "function"
    assert browser_page.errors == []


def test_state_filter_starts_on_all_states_and_redraws_the_scatter(
    browser_page: BrowserPage, dashboard_settings: Settings
) -> None:
    browser_page.open("/")
    all_states = browser_page.chart("income-vs-amount")
    assert browser_page.shown_value("state-filter") == "All states"
    browser_page.page.click("#state-filter")
    first_option = browser_page.page.locator(".dash-dropdown-option").first
    assert first_option.inner_text().strip() == "All states"
    browser_page.page.keyboard.press("Escape")

    # The state with the most loans: its sample differs from the all-states one.
    state, loans = owner_query(
        dashboard_settings,
        "select addr_state, count(*) from marts.fct_loans group by 1 order by 2 desc, 1 limit 1",
    )[0]
    browser_page.choose("state-filter", str(state))
    one_state = browser_page.chart_after_change("income-vs-amount", all_states)
    assert points(one_state) == min(int(str(loans)), 2000)
    assert f"of {loans:,} loans" in one_state["title"]
    assert browser_page.errors == []


def test_year_filter_redraws_the_monthly_chart(browser_page: BrowserPage, dashboard_settings: Settings) -> None:
    browser_page.open("/")
    latest = browser_page.chart("loans-per-month")
    years = [
        int(str(row[0])) for row in owner_query(dashboard_settings, "select distinct issue_year from marts.fct_loans")
    ]
    assert browser_page.shown_value("year-filter") == str(max(years))
    assert points(latest) == 12

    earliest = min(years)
    browser_page.choose("year-filter", str(earliest))
    chart = browser_page.chart_after_change("loans-per-month", latest)
    (issued,) = owner_query(
        dashboard_settings, "select count(*) from marts.fct_loans where issue_year = %s", (earliest,)
    )[0]
    assert f"in {earliest}" in chart["title"]
    assert sum(chart["traces"][0]["y"]) == issued
    assert browser_page.errors == []


def _marts_fingerprint(settings: Settings) -> list[tuple[object, ...]]:
    """Every table and view in marts with its row count: what an injection would change."""
    tables = owner_query(
        settings,
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'marts' and c.relkind in ('r', 'v') order by 1",
    )
    return [(name, owner_query(settings, f'select count(*) from marts."{name}"')[0][0]) for (name,) in tables]


def test_an_sql_injection_as_a_filter_value_changes_nothing(
    browser_page: BrowserPage, dashboard_settings: Settings
) -> None:
    before = _marts_fingerprint(dashboard_settings)
    browser_page.open("/")
    chart = browser_page.chart("income-vs-amount")

    # The browser's own callback request, replayed with the filter value replaced: exactly
    # what a hostile client can send, whatever the dropdown offers.
    (state,) = owner_query(dashboard_settings, "select min(addr_state) from marts.fct_loans")[0]

    def filter_request(request: Any) -> bool:  # not the page's poll for a new marts version
        return "/_dash-update-component" in request.url and "state-filter" in (request.post_data or "")

    with browser_page.page.expect_request(filter_request) as captured:
        browser_page.choose("state-filter", str(state))
    payload = json.loads(captured.value.post_data or "{}")
    for injection in INJECTIONS:
        payload["inputs"][0]["value"] = injection
        response = browser_page.page.request.post(
            captured.value.url,
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        )
        assert response.ok, response.text()
        figure = response.json()["response"]["income-vs-amount"]["figure"]
        # No such state: the default, all states, titled as such; the value is not echoed.
        assert figure["data"] and "All states" in json.dumps(figure["layout"]), f"{injection!r}"
        assert injection not in response.text(), f"{injection!r} echoed"

    # Typed into the dropdown's search, it matches no option and selects nothing.
    browser_page.page.click("#state-filter")
    browser_page.page.keyboard.type(INJECTIONS[1])
    browser_page.page.keyboard.press("Enter")
    browser_page.page.keyboard.press("Escape")
    assert browser_page.shown_value("state-filter") != INJECTIONS[1]

    assert _marts_fingerprint(dashboard_settings) == before
    browser_page.open("/")
    assert points(browser_page.chart("income-vs-amount")) == points(chart)
    assert browser_page.errors == []


# Every chart on a page: its title and how many points it drew.
ALL_CHARTS_JS = """() => Array.from(document.querySelectorAll('main .js-plotly-plot')).map(gd => ({
  title: gd.layout && gd.layout.title ? gd.layout.title.text : '',
  points: (gd.calcdata || []).reduce((sum, trace) => sum + trace.length, 0),
}))"""


@pytest.mark.parametrize("path", ["/answers", "/quality"])
def test_the_other_pages_draw_their_charts_without_console_errors(browser_page: BrowserPage, path: str) -> None:
    browser_page.open(path)
    browser_page.page.wait_for_selector("main .panel", timeout=20_000)
    browser_page.page.wait_for_function(
        f"({ALL_CHARTS_JS})().length > 0 && ({ALL_CHARTS_JS})().every(c => c.title)", timeout=20_000
    )
    charts = browser_page.page.evaluate(ALL_CHARTS_JS)
    assert all(chart["points"] > 0 for chart in charts), charts
    assert browser_page.page.locator(".notice").count() == 0, browser_page.page.inner_text("main")
    assert browser_page.errors == []


def test_data_quality_shows_rejections_quarantine_reasons_and_the_last_run(browser_page: BrowserPage) -> None:
    browser_page.open("/quality")
    browser_page.page.wait_for_selector("#last-run-status", timeout=20_000)
    text = browser_page.page.inner_text("main")
    for reason in DIRTY_REASONS:
        assert reason in text
    assert "dirty-loans.csv" in text
    assert "landing_rejected" in text
    assert browser_page.page.inner_text("#last-run-status") == "success"
    flow = browser_page.chart("dq-flow")
    drawn = dict(zip(["arrived", "rejected", "refused", "superseded", "kept"], flow["traces"][0]["x"], strict=True))
    assert drawn["rejected"] >= 1 and drawn["rejected"] + drawn["refused"] >= 3
    assert drawn["arrived"] == drawn["rejected"] + drawn["refused"] + drawn["superseded"] + drawn["kept"]
    assert browser_page.errors == []
