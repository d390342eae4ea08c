"""The pure parts of the dashboard's live updates: which version a page moves to, and the
freshness line it shows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.data import newer_version
from dashboard.layout import freshness_line


@pytest.mark.parametrize(
    ("known", "shown", "expected"),
    [
        ("v2", "v1", "v2"),  # a new build: the page moves to it
        ("v1", "v1", None),  # nothing new: nothing is redrawn
        ("", "v1", None),  # the server has not read a version yet: the page keeps its own
        ("v1", "", "v1"),  # a page drawn while the warehouse was away
        ("v1", None, "v1"),
    ],
)
def test_a_page_moves_only_to_a_version_the_server_knows_and_it_does_not_show(
    known: str, shown: object, expected: str | None
) -> None:
    assert newer_version(known, shown) == expected


def test_the_freshness_line_gives_both_times_to_the_second_in_utc() -> None:
    landed = dt.datetime(2026, 12, 5, 14, 3, 7, 900_000, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    built = pd.Timestamp("2026-12-05 13:03:09.2", tz="UTC")
    assert freshness_line({"newest_landed_at": landed, "built_at": built}) == (
        "newest loan landed 2026-12-05 13:03:07 UTC · marts built 2026-12-05 13:03:09 UTC"
    )


@pytest.mark.parametrize("freshness", [{}, {"newest_landed_at": None, "built_at": pd.NaT}])
def test_unknown_times_show_as_a_dash(freshness: dict[str, object]) -> None:
    assert freshness_line(freshness) == "newest loan landed - · marts built -"
