"""An open dashboard page follows the warehouse: new loans land and dbt builds, and the page's
totals, freshness line and charts change by themselves, without a reload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from dashboard.layout import VERSION_POLL_MS, format_timestamp
from lendflow.dbt import run_dbt
from lendflow.settings import Settings
from python_steps import run as python_steps
from tests.browser.conftest import owner_query
from tests.browser.test_dashboard_browser import BrowserPage
from tests.integration.test_warehouse import _insert_events

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

NEW_LOANS = 25
# Set on the page once it has loaded: a reload would lose it.
MARK = "window.__same_page = true"


@pytest.fixture()
def live_page(browser: Any, dashboard_url: str) -> Iterator[BrowserPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield BrowserPage(context.new_page(), dashboard_url)
    context.close()


def _loans_in_totals(page: BrowserPage) -> int:
    first_card = page.page.inner_text("#portfolio-totals .kpi-value")
    return int(first_card.replace(",", ""))


def test_new_loans_and_a_build_reach_the_open_page_without_a_reload(
    live_page: BrowserPage, dashboard_settings: Settings, small_sample: Path
) -> None:
    live_page.open("/")
    shares_before = live_page.chart("loans-by-grade")
    (loans,) = owner_query(dashboard_settings, "select count(*) from marts.fct_loans")[0]
    assert _loans_in_totals(live_page) == loans
    freshness_before = live_page.page.inner_text("#freshness")
    assert "newest loan landed" in freshness_before and "marts built" in freshness_before
    live_page.page.evaluate(MARK)

    # new loans arrive from the stream and dbt builds what depends on them
    new = pq.read_table(small_sample / "stream.parquet").slice(0, NEW_LOANS).to_pylist()
    _insert_events(dashboard_settings, [json.dumps(record) for record in new], 0)
    python_steps.run(dashboard_settings, refit=False)
    run_dbt(["run", "--select", "stg_raw__loan_events+", "--quiet"], dashboard_settings)

    # the page sees the new build within a few polls
    live_page.page.wait_for_function(
        f"document.querySelector('#portfolio-totals .kpi-value').innerText.replace(/,/g, '') === '{loans + NEW_LOANS}'",
        timeout=10 * VERSION_POLL_MS,
    )
    (landed,) = owner_query(dashboard_settings, "select max(landed_at) from marts.fct_loans")[0]
    freshness_after = live_page.page.inner_text("#freshness")
    assert freshness_after != freshness_before
    assert f"newest loan landed {format_timestamp(landed, '%Y-%m-%d %H:%M:%S UTC')}" in freshness_after
    # the charts are redrawn too: the grades' shares now count the new loans
    live_page.chart_after_change("loans-by-grade", shares_before)
    assert live_page.page.evaluate("window.__same_page === true"), "the page was reloaded"
    assert live_page.errors == []
