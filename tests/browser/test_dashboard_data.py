"""The dashboard's data access against a real warehouse: role, parameters, cache invalidation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import psycopg
import pytest

from dashboard.data import ALL_STATES, ALL_YEARS, MartMissing, MartsReader
from lendflow.dbt import run_dbt
from lendflow.settings import Settings
from tests.browser.conftest import owner_query

pytestmark = pytest.mark.postgres


@pytest.fixture()
def reader(dashboard_settings: Settings) -> Iterator[MartsReader]:
    # No version TTL: every query re-reads the marts version, so a change shows at once.
    marts = MartsReader.for_settings(dashboard_settings, version_ttl_seconds=0)
    yield marts
    marts.close()


def test_it_reads_as_the_read_only_role_which_sees_marts_only(reader: MartsReader) -> None:
    assert reader.query("select current_user as who")["who"].tolist() == ["lendflow_reader"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        reader.query("select count(*) from raw.loans")
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        reader.query("create table marts.sneaky (x int)")


def test_the_sample_is_bounded_and_matches_the_mart(reader: MartsReader, dashboard_settings: Settings) -> None:
    (loans,) = owner_query(dashboard_settings, "select count(*) from marts.fct_loans")[0]
    everyone = reader.scatter_sample(ALL_STATES)
    assert 0 < len(everyone) <= 2000
    assert set(everyone["loans_in_scope"]) == {loans}
    state, in_state = owner_query(
        dashboard_settings, "select addr_state, count(*) from marts.fct_loans group by 1 order by 2 desc limit 1"
    )[0]
    one_state = reader.scatter_sample(state)
    assert len(one_state) == min(int(str(in_state)), 2000)
    assert set(one_state["addr_state"]) == {state}


@pytest.mark.parametrize("hostile", ["CA' OR '1'='1", "'; drop table marts.fct_loans; --", None, 42])
def test_filter_values_are_checked_and_bound_never_spliced(
    reader: MartsReader, dashboard_settings: Settings, hostile: object
) -> None:
    before = owner_query(dashboard_settings, "select count(*) from marts.fct_loans")
    # No such state or year: the filters' defaults (all states, the latest year).
    assert reader.scatter_sample(hostile).equals(reader.scatter_sample(ALL_STATES))
    assert reader.loans_per_month(hostile).equals(reader.loans_per_month(max(reader.years())))
    assert owner_query(dashboard_settings, "select count(*) from marts.fct_loans") == before


JUNK = ["<b onmouseover=alert(1)>CA</b>", "ALL ", "2019 or 1=1", "<a href='x'>2019</a>", 2019.5, [2019], {"a": 1}]


def test_junk_filter_values_neither_grow_the_figure_cache_nor_reach_a_title(reader: MartsReader) -> None:
    from dashboard.pages.portfolio import income_vs_amount_figure, loans_per_month_figure

    states = [code for code, _ in reader.states()]
    drawn = {}
    for value in [*JUNK, *(f"junk-{n}" for n in range(50))]:
        drawn[json.dumps(value)] = (income_vs_amount_figure(reader, value), loans_per_month_figure(reader, value))
        assert not isinstance(value, str) or value not in json.dumps(drawn[json.dumps(value)]), value
    figure_keys = {key[2][1] for key in list(reader.cache._entries) if key[1] == "derived" and key[2][0] == "figure"}
    allowed = {("income_vs_amount", choice) for choice in [ALL_STATES, *states]}
    allowed |= {("loans_per_month", choice) for choice in [ALL_YEARS, *reader.years()]}
    assert figure_keys <= allowed
    # Each drew the filters' defaults: all states, the latest year.
    defaults = (income_vs_amount_figure(reader, ALL_STATES), loans_per_month_figure(reader, max(reader.years())))
    assert all(figures == defaults for figures in drawn.values())
    assert len(figure_keys) == 2


def test_a_missing_mart_is_reported_as_such(reader: MartsReader) -> None:
    with pytest.raises(MartMissing):
        reader.query("select * from marts.dash_no_such_mart")


def _wait_for_new_version(reader: MartsReader, old: str, seconds: float = 15) -> str:
    # Table statistics reach the catalog views within a second or so of the commit.
    deadline = time.monotonic() + seconds
    while (version := reader.version()) == old and time.monotonic() < deadline:
        time.sleep(0.2)
    return version


def test_cached_results_are_dropped_when_the_marts_change(reader: MartsReader, dashboard_settings: Settings) -> None:
    first = reader.avg_amount_by_state()
    reader.avg_amount_by_state()
    assert (reader.cache.hits, reader.cache.misses) == (1, 1)
    version = reader.version()

    # The mart is a view over an aggregate table: writing to that table is a change too.
    top = first.iloc[0]
    with psycopg.connect(dashboard_settings.pg_dsn) as conn:
        conn.execute(
            "update intermediate.int_loan_totals_by_state_grade"
            " set total_loan_amount = total_loan_amount + 1000 * loan_amount_count where addr_state = %s",
            (top["addr_state"],),
        )
    changed = _wait_for_new_version(reader, version)
    assert changed != version
    assert reader.avg_amount_by_state().iloc[0]["avg_loan_amount"] == pytest.approx(top["avg_loan_amount"] + 1000)

    # A dbt rebuild (a new relation) invalidates too, and restores the true numbers.
    # With everything built on it: replacing the table drops the views over it (cascade).
    run_dbt(["run", "-s", "int_loan_totals_by_state_grade+", "--full-refresh", "--quiet"], dashboard_settings)
    assert _wait_for_new_version(reader, changed) != changed
    assert reader.avg_amount_by_state().iloc[0]["avg_loan_amount"] == pytest.approx(top["avg_loan_amount"])
