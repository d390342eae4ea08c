"""The Python steps' pure functions: title clustering and the Yeo-Johnson fit."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from python_steps.titles import (
    TitleMapping,
    TitleTally,
    canonical_titles,
    display_title,
    merge_rare_keys,
    normalise_title,
    trim_title,
)
from python_steps.transforms import clean_values, fit_yeo_johnson, yeo_johnson


def _canonical(counts: dict[str, int]) -> dict[str, str]:
    return {m.raw_title: m.canonical_title for m in canonical_titles(counts)}


def test_nurse_spellings_share_one_canonical_title() -> None:
    mapped = _canonical({"RN": 20, "registered nurse": 5, "Registered Nurse ": 30, "Registered Nurse": 40})
    assert set(mapped.values()) == {"Registered Nurse"}
    # the map is keyed by the title trimmed as SQL's trim() does
    assert "Registered Nurse " not in mapped and "Registered Nurse" in mapped


def test_a_rare_typo_joins_the_frequent_title_it_misspells() -> None:
    mapped = _canonical({"Property Manager": 50, "property manger": 1, "Teacher": 10})
    assert mapped["property manger"] == "Property Manager"
    assert mapped["Teacher"] == "Teacher"


def test_levels_keep_titles_apart() -> None:
    mapped = _canonical({"Engineer II": 10, "Engineer I": 1, "Engineer III": 10})
    assert mapped["Engineer I"] == "Engineer I"
    assert mapped["Engineer II"] == "Engineer II"


def test_distinct_rare_titles_are_not_merged() -> None:
    mapped = _canonical({"Teacher": 50, "Welder": 1})
    assert mapped["Welder"] == "Welder"


def test_blank_titles_are_left_to_the_sql_imputation() -> None:
    assert _canonical({"   ": 3, "": 2}) == {}


@pytest.mark.parametrize(
    ("raw", "key"),
    [("  RN ", "registered nurse"), ("Sr. Mgr, IT", "senior manager it"), ("VP-Sales", "vice president sales")],
)
def test_normal_form(raw: str, key: str) -> None:
    assert normalise_title(raw) == key


def test_display_title_capitalises_and_keeps_acronyms() -> None:
    assert display_title("senior manager it") == "Senior Manager IT"


def test_trim_is_spaces_only_like_sql() -> None:
    assert trim_title(" a b\t ") == "a b\t"


def test_merge_is_deterministic_on_ties() -> None:
    counts = {"managr": 1, "manager": 5, "manage": 5}
    assert merge_rare_keys(counts) == merge_rare_keys(dict(reversed(list(counts.items()))))


def test_titles_already_mapped_are_skipped_and_the_rest_map_as_among_all() -> None:
    """The incremental run (refit=False) maps only new titles; a new typo still joins the
    frequent title it misspells, though that title was mapped before and is skipped now."""
    counts = {"Property Manager": 50, "property manger": 1, "Teacher": 10, "RN": 4, "Welder": 1}
    everything = canonical_titles(counts)
    skipped = {"Property Manager", "Teacher"}
    new_only = canonical_titles(counts, skip=skipped)
    assert new_only == [m for m in everything if m.raw_title not in skipped]
    assert {m.raw_title: m.canonical_title for m in new_only}["property manger"] == "Property Manager"


# Titles from a small vocabulary with typos, case, padding and abbreviations, so that batches
# share titles and keys and rare ones have frequent neighbours to join.
_TITLES = st.sampled_from(
    ["Property Manager", "property manger", "PROPERTY MANAGER ", "Teacher", "teachr", " RN", "registered nurse",
     "Sr Engineer", "senior engineer", "Engineer II", "engineer ll", "Welder", "", "  "]
)  # fmt: skip
_BATCHES = st.lists(st.dictionaries(_TITLES, st.integers(1, 5), max_size=8), min_size=1, max_size=6)


@given(_BATCHES)
def test_mapping_batch_by_batch_gives_what_a_full_run_after_each_batch_stores(batches: list[dict[str, int]]) -> None:
    """The stream's Python step counts each batch into a tally and maps its new titles; the full
    run (refit=False) after each batch counts everything landed and skips the stored titles.
    Both must store the same map: a title keeps the mapping it got when it first arrived."""
    tally, stored_by_tally = TitleTally(), list[TitleMapping]()
    everything: Counter[str] = Counter()
    stored_by_full_runs = list[TitleMapping]()
    for batch in batches:
        tally.add(batch)
        new = tally.new_mappings()
        tally.mark_mapped(new)
        stored_by_tally += new
        everything.update(batch)
        stored_by_full_runs += canonical_titles(everything, skip={m.raw_title for m in stored_by_full_runs})
    assert stored_by_tally == stored_by_full_runs
    assert {m.raw_title for m in stored_by_tally} == {trim_title(t) for t in everything if trim_title(t)}


def test_merging_some_keys_gives_what_merging_all_gives_them() -> None:
    counts = {"property manager": 50, "property manger": 1, "teacher": 10, "teachr": 1, "welder": 1}
    wanted = {"property manger", "welder"}
    assert merge_rare_keys(counts, only=wanted) == {k: v for k, v in merge_rare_keys(counts).items() if k in wanted}


def test_yeo_johnson_lambda_matches_scipy_and_reduces_skew() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(9, 1.2, 5_000)
    fitted = fit_yeo_johnson("tot_cur_bal", [*values.tolist(), None, float("nan")])
    assert fitted.fitted_rows == 5_000
    # the fit sorts the values first (order-independent, see the next test)
    assert fitted.parameter_value == float(stats.yeojohnson_normmax(np.sort(values)))
    transformed = yeo_johnson(values, fitted.parameter_value)
    assert abs(stats.skew(transformed)) < abs(stats.skew(values)) / 10


def test_yeo_johnson_lambda_does_not_depend_on_the_order_of_the_values() -> None:
    """Each engine reads the same landed values in its own order (the stream's partitions
    interleave differently): both must store the very same lambda, to the last bit."""
    values = np.random.default_rng(7).lognormal(9, 1.2, 20_000)  # scipy alone: 5 lambdas ~6e-8 apart
    lambdas = {fit_yeo_johnson("avg_cur_bal", np.random.default_rng(seed).permutation(values)).parameter_value
               for seed in range(8)}  # fmt: skip
    assert len(lambdas) == 1


def test_fit_refuses_too_few_values() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        fit_yeo_johnson("avg_cur_bal", [1.0, None, 1.0])


def test_clean_values_drops_missing_and_infinite() -> None:
    assert clean_values([1.0, None, float("inf"), 2.0]).tolist() == [1.0, 2.0]
