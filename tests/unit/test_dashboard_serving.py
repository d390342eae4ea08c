"""Serving and page pieces of the dashboard that are pure: gunicorn settings, debug refusal, labels."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.data import default_year
from dashboard.layout import totals_cards
from dashboard.pages.portfolio import scope_label, state_options, year_label, year_options
from dashboard.pages.quality import age
from dashboard.serve import ServeOptions, connect_worker, gunicorn_config, serve
from dashboard.serving_policy import ALLOW_DEBUG_ENV, DebugModeRefused
from lendflow import settings as config


def test_gunicorn_serves_threaded_workers_forked_from_a_preloaded_app() -> None:
    options = ServeOptions(host="127.0.0.1", port=8123, workers=3, threads=5)
    cfg = gunicorn_config(options, on_ready=lambda _arbiter: None)
    assert cfg["bind"] == "127.0.0.1:8123"
    assert (cfg["workers"], cfg["threads"], cfg["worker_class"]) == (3, 5, "gthread")
    assert cfg["preload_app"] is True
    assert cfg["post_worker_init"] is connect_worker  # each worker connects before its first request
    assert options.address == "http://127.0.0.1:8123/"


def test_debug_is_refused_before_anything_is_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_DEBUG_ENV, raising=False)
    announced: list[str] = []
    with pytest.raises(DebugModeRefused):
        serve(config.load(), ServeOptions(port=1), debug=True, announce=announced.append)
    assert announced == []


def test_state_options_start_with_all_states() -> None:
    options = state_options([("CA", "California"), ("ZZ", "ZZ")])
    assert options[0] == {"label": "All states", "value": "ALL"}
    assert options[1] == {"label": "California (CA)", "value": "CA"}
    assert options[2] == {"label": "ZZ", "value": "ZZ"}


def test_year_options_and_the_latest_year_as_default() -> None:
    assert [o["label"] for o in year_options([2018, 2019])] == ["All years", "2018", "2019"]
    assert default_year([2018, 2019]) == 2019
    assert default_year([]) == "ALL"


def test_labels_of_filters() -> None:
    assert scope_label("ALL", []) == "All states"
    assert scope_label("CA", [("CA", "California")]) == "California"
    assert scope_label("'; drop", [("CA", "California")]) == "Unknown state"
    assert year_label("ALL") == "All years"
    assert year_label(2019) == "Loans issued in 2019"


def test_totals_cards_format_the_header() -> None:
    cards = dict(
        totals_cards(
            {
                "loans": 27030,
                "total_loan_amount": 406662725.0,
                "avg_loan_amount": 15045.3,
                "avg_int_rate": 0.1313,
                "default_rate_pct": 6.54,
                "states": 50,
                "first_issue_date": dt.date(2012, 8, 12),
                "last_issue_date": dt.date(2019, 12, 19),
            }
        )
    )
    assert cards["loans"] == "27,030"
    assert cards["total lent"] == "$406,662,725"
    assert cards["average interest rate"] == "13.13%"
    assert cards["defaulted"] == "6.5%"
    assert cards["issued"] == "2012-08-12 to 2019-12-19"
    assert totals_cards({}) == []


def test_age_reads_like_a_person_would_say_it() -> None:
    now = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
    assert age(now - dt.timedelta(minutes=5), now) == "5 min ago"
    assert age(now - dt.timedelta(hours=3), now) == "3.0 h ago"
    assert age(now - dt.timedelta(days=4), now) == "4 days ago"
    assert age(None, now) == "-"


def test_the_vendored_plotly_bundle_matches_the_plotly_python_draws_with() -> None:
    import plotly.offline

    from dashboard.app import HERE, PLOTLY_BUNDLE_GLOB

    bundles = sorted((HERE / "assets").glob(PLOTLY_BUNDLE_GLOB))
    assert [bundle.name for bundle in bundles] == [f"plotly-custom-{plotly.offline.get_plotlyjs_version()}.min.js"]
    assert f"v{plotly.offline.get_plotlyjs_version()}" in bundles[0].read_text()[:200]


def test_the_page_loads_regenerator_runtime_instead_of_dashs_babel_polyfill() -> None:
    from dashboard.app import HERE, REGENERATOR_BUNDLE_GLOB, without_polyfill

    scripts = (
        '<script src="/_dash-component-suites/dash/deps/polyfill@7.v4_4_1m1.12.1.min.js"></script>\n'
        '<script src="/_dash-component-suites/dash/deps/react@18.v4_4_1m1.3.1.min.js"></script>\n'
        '<script src="/assets/regenerator-runtime-0.14.1.js?m=1"></script>'
    )
    kept = without_polyfill(scripts)
    assert "polyfill" not in kept
    assert kept.splitlines() == scripts.splitlines()[1:]
    runtimes = list((HERE / "assets").glob(REGENERATOR_BUNDLE_GLOB))
    assert len(runtimes) == 1 and "regeneratorRuntime = runtime" in runtimes[0].read_text()
