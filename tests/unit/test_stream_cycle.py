"""The continuous process's arithmetic: freshness, what a build owes, when the full tests run."""

from __future__ import annotations

import dataclasses

import pytest

from lendflow import settings as config
from orchestration.stream import (
    PERIODIC_BUILD,
    PERIODIC_DATA_BUILD,
    Freshness,
    StreamOptions,
    freshness_at,
    periodic_due,
    periodic_lane,
    widen,
)
from streaming.micro_batches import sent_range


def test_freshness_is_the_age_of_the_newest_and_oldest_message_at_build_time() -> None:
    assert freshness_at(10_000, (4_000, 8_500)) == Freshness(newest=1.5, oldest=6.0)
    # a producer whose clock runs ahead of ours does not make a negative age
    assert freshness_at(10_000, (9_000, 10_250)) == Freshness(newest=0.0, oldest=1.0)


def test_messages_owed_a_build_accumulate_until_one_succeeds() -> None:
    assert widen(None, None) is None
    assert widen(None, (5, 9)) == (5, 9)
    assert widen((5, 9), None) == (5, 9)
    # a failed build's messages stay owed: the next build's freshness counts from the oldest
    assert widen((5, 9), (7, 12)) == (5, 12)
    assert widen((5, 9), (1, 3)) == (1, 9)


def test_send_times_without_a_timestamp_are_left_out() -> None:
    assert sent_range([]) is None
    assert sent_range([-1, -1]) is None
    assert sent_range([30, -1, 10, 20]) == (10, 30)


@pytest.mark.parametrize(
    ("builds", "every", "due"),
    [(0, 20, False), (1, 20, False), (19, 20, False), (20, 20, True), (21, 20, False), (40, 20, True),
     (1, 1, True), (3, 0, False)],
)  # fmt: skip
def test_the_periodic_lane_runs_after_every_nth_build(builds: int, every: int, due: bool) -> None:
    assert periodic_due(builds, every) is due


def test_options_default_to_the_settings_and_take_what_the_command_line_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDFLOW_STREAM_POLL_INTERVAL", "0.25")
    monkeypatch.setenv("LENDFLOW_STREAM_PERIODIC_EVERY", "5")
    monkeypatch.delenv("LENDFLOW_STREAM_MAX_BATCH", raising=False)
    settings = config.load()
    assert "LENDFLOW_STREAM_PERIODIC_EVERY" in (config.__doc__ or "")
    options = StreamOptions.from_settings(settings, poll_interval=None, periodic_every=0, until_idle=True)
    assert dataclasses.astuple(options) == dataclasses.astuple(
        StreamOptions(poll_interval=0.25, periodic_every=0, max_batch=100_000, until_idle=True)
    )


def test_the_whole_periodic_lane_runs_until_it_passes_on_the_parsed_project() -> None:
    assert periodic_lane(parses=1, lane_passed_on_parse=None) == PERIODIC_BUILD  # never passed yet
    assert periodic_lane(parses=1, lane_passed_on_parse=1) == PERIODIC_DATA_BUILD
    # the project changed and was parsed again: its views and unit tests run again
    assert periodic_lane(parses=2, lane_passed_on_parse=1) == PERIODIC_BUILD
