"""The dashboard's data rules that need no database: filters, month filling, the cache."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dashboard.data import ALL_STATES, ALL_YEARS, Rows, VersionedCache, complete_months, parse_state, parse_year

STATES = ["CA", "NY", "TX"]
YEARS = [2017, 2018, 2019]


# Whatever a browser can send as a filter value: JSON of any shape, text of any kind.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


def test_a_known_state_selects_that_state() -> None:
    assert parse_state("NY", STATES) == "NY"
    assert parse_state(ALL_STATES, STATES) == ALL_STATES


@pytest.mark.parametrize(
    "value",
    [None, "ny", "ZZ", "CA' OR '1'='1", "'; drop table marts.fct_loans; --", 7, ["CA"], {"CA": 1}, "", "CA "],
)
def test_anything_else_falls_back_to_all_states(value: object) -> None:
    assert parse_state(value, STATES) == ALL_STATES


@given(value=st.one_of(st.text(), JSON_VALUES))
@example(value="CA\x00")
def test_any_state_value_parses_to_one_of_a_few_choices(value: object) -> None:
    choice = parse_state(value, STATES)
    assert choice in {ALL_STATES, *STATES}
    assert choice == (value if value in STATES else ALL_STATES)


def test_all_years_means_every_year() -> None:
    assert parse_year(ALL_YEARS, YEARS) == ALL_YEARS


@pytest.mark.parametrize(("value", "year"), [(2018, 2018), ("2019", 2019)])
def test_a_known_year_as_number_or_text(value: object, year: int) -> None:
    assert parse_year(value, YEARS) == year


@pytest.mark.parametrize(
    "value", [None, 2016, "2016", "2019 or 1=1", "2019; drop table x", True, 2018.0, "", [2018], "２０１８"]
)
def test_an_unknown_or_malformed_year_falls_back_to_the_latest(value: object) -> None:
    assert parse_year(value, YEARS) == 2019
    assert parse_year(value, []) == ALL_YEARS  # no years at all: every year (there are none)


@given(value=st.one_of(st.text(), st.integers(), JSON_VALUES))
def test_any_year_value_parses_to_one_of_a_few_choices(value: object) -> None:
    assert parse_year(value, YEARS) in {ALL_YEARS, *YEARS}


def test_complete_months_fills_the_year_with_zero_months() -> None:
    frame = pd.DataFrame(
        {
            "issue_year": [2018, 2019, 2019],
            "issue_month": [5, 2, 11],
            "month_start": pd.to_datetime(["2018-05-01", "2019-02-01", "2019-11-01"]),
            "loans": [4, 7, 3],
            "total_loan_amount": [40.0, 70.0, 30.0],
        }
    )
    months = complete_months(frame, 2019)
    assert list(months["issue_month"]) == list(range(1, 13))
    assert list(months["loans"]) == [0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0]
    assert months["total_loan_amount"].sum() == 100.0
    assert set(months["issue_year"]) == {2019}
    assert months["month_start"].iloc[0] == pd.Timestamp("2019-01-01")


def test_cache_computes_once_per_key_and_again_for_a_new_version() -> None:
    cache = VersionedCache(max_entries=8)
    calls: list[str] = []

    def compute(tag: str) -> str:
        calls.append(tag)
        return tag

    assert cache.get_or_compute(("v1", "q"), lambda: compute("a")) == "a"
    assert cache.get_or_compute(("v1", "q"), lambda: compute("b")) == "a"
    assert cache.get_or_compute(("v2", "q"), lambda: compute("c")) == "c"
    assert calls == ["a", "c"]
    assert (cache.hits, cache.misses) == (1, 2)


def test_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    cache = VersionedCache(max_entries=2)
    cache.get_or_compute("a", lambda: 1)
    cache.get_or_compute("b", lambda: 2)
    cache.get_or_compute("a", lambda: 0)  # a is now the most recent
    cache.get_or_compute("c", lambda: 3)  # evicts b
    assert cache.get_or_compute("a", lambda: -1) == 1
    assert cache.get_or_compute("b", lambda: 22) == 22


def test_a_failed_computation_is_not_cached() -> None:
    cache = VersionedCache()

    def fail() -> int:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("k", fail)
    assert cache.get_or_compute("k", lambda: 5) == 5


def test_rows_give_a_fresh_frame_each_time() -> None:
    rows = Rows(("a", "b"), ((1, "x"), (2, "y")))
    first = rows.frame()
    first.loc[0, "a"] = 99
    assert rows.frame()["a"].tolist() == [1, 2]


def test_a_new_marts_version_rewarms_the_cache_once_in_the_background() -> None:
    import threading

    from dashboard.data import MartsReader

    reader = MartsReader("postgresql://nowhere/none", version_ttl_seconds=0.0)  # the pool never opens
    versions = iter(["v1", "v1", "v2", "v2"])
    reader._fetch = lambda query, params=None: Rows(("version",), ((next(versions),),))  # type: ignore[method-assign]
    warmed = threading.Event()
    calls: list[str] = []

    def warm() -> None:
        calls.append(threading.current_thread().name)
        warmed.set()

    reader.on_new_version(warm)
    assert [reader.version(), reader.version()] == ["v1", "v1"]
    assert not warmed.wait(0.2), "warmed without the marts changing"
    assert reader.version() == "v2"
    assert warmed.wait(5)
    assert reader.version() == "v2"
    assert calls == ["dashboard-cache-warm"]
