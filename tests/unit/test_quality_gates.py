"""The gate policy as data: which batches a gate judges, what fails a run and what is reported."""

from __future__ import annotations

import pytest

from lendflow import settings as config
from orchestration.quality.checkpoints import as_url, failures_from_result
from orchestration.quality.scope import (
    NOTHING,
    REJECTED_AT_LANDING,
    STREAM_BATCH,
    LandedFile,
    OffsetRange,
    RunBatches,
    StreamWindow,
    batch_quarantines,
    landed_offset_ranges,
    loan_events_where,
    quarantine_counts_query,
    raw_loans_where,
    run_batches,
    validated_records_where,
)
from orchestration.quality.suites import GATE, REPORT, marts_suites, raw_suites

SHA_A, SHA_B = "a" * 64, "b" * 64
BATCH_A, BATCH_B = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def _report(sha: str, batch: str, *, skipped: bool = False, rejected: int = 0) -> dict[str, object]:
    return {"source_file": f"/in/{sha[0]}.csv", "file_sha256": sha, "batch_id": batch, "rows_rejected": rejected,
            "skipped": skipped}  # fmt: skip


def test_a_file_landed_before_brings_no_batch_and_the_stream_window_comes_from_the_report() -> None:
    stream = {"topic": "loans", "landed_offsets": {"1": [4, 9], "0": [-1, 2], "2": [7, 7]}}
    batches = run_batches([_report(SHA_A, BATCH_A), _report(SHA_B, BATCH_B, skipped=True)], stream)
    assert [f.file_sha256 for f in batches.files] == [SHA_A]
    assert batches.stream == StreamWindow("loans", (OffsetRange(0, -1, 2), OffsetRange(1, 4, 9)))
    assert run_batches([], None) == RunBatches()


def test_landed_offsets_are_what_came_between_two_looks() -> None:
    assert landed_offset_ranges({0: 10, 1: 5}, {0: 12, 1: 5, 2: 3}) == {"0": [10, 12], "2": [-1, 3]}
    assert landed_offset_ranges({0: 10}, {0: 10}) == {}


def test_a_run_that_brought_nothing_selects_no_rows() -> None:
    empty = RunBatches(stream=StreamWindow("loans"))
    assert raw_loans_where(empty) == NOTHING
    assert loan_events_where(empty) == NOTHING
    assert loan_events_where(RunBatches()) == NOTHING
    assert validated_records_where(empty).count(NOTHING) == 2


def test_predicates_name_the_runs_batches_and_offsets() -> None:
    batches = RunBatches((LandedFile(BATCH_A, SHA_A, "a.csv"),), StreamWindow("loans", (OffsetRange(0, 4, 9),)))
    assert raw_loans_where(batches) == f"_batch_id in ('{BATCH_A}')"
    assert loan_events_where(batches) == (
        "(topic = 'loans' and ((kafka_partition = 0 and kafka_offset > 4 and kafka_offset <= 9)))"
    )
    records = validated_records_where(batches)
    assert f"file_sha256 in ('{SHA_A}')" in records and "record_ref like 'kafka:%'" in records
    assert quarantine_counts_query(batches).startswith("select case when record_source = 'stream'")


@pytest.mark.parametrize(
    "batches",
    [
        RunBatches((LandedFile("x') or true --", SHA_A, "a.csv"),)),
        RunBatches(stream=StreamWindow("loans' or 1=1 --", (OffsetRange(0, 1, 2),))),
    ],
)
def test_nothing_but_checked_values_reaches_the_sql(batches: RunBatches) -> None:
    with pytest.raises(ValueError, match="not a"):
        raw_loans_where(batches) + loan_events_where(batches)


def test_a_batchs_quarantine_counts_its_rejected_lines_and_ranks_its_reasons() -> None:
    batches = RunBatches(
        (LandedFile(BATCH_A, SHA_A, "a.csv", rows_rejected=2), LandedFile(BATCH_B, SHA_B, "b.csv")),
        StreamWindow("loans", (OffsetRange(0, -1, 9),)),
    )
    counts = [(SHA_A, None, 90), (SHA_A, "int_rate_out_of_range", 6), (SHA_A, "non_numeric_annual_inc", 2),
              (STREAM_BATCH, None, 10)]  # fmt: skip
    found = {q.batch: q for q in batch_quarantines(batches, counts)}
    a = found["a.csv"]
    assert (a.records, a.quarantined, a.share) == (100, 10, 0.1)
    assert a.top_reasons() == f"int_rate_out_of_range (6), non_numeric_annual_inc (2), {REJECTED_AT_LANDING} (2)"
    assert a.top_reasons(1) == "int_rate_out_of_range (6)"
    assert (found["b.csv"].records, found["b.csv"].share) == (0, 0.0)  # all its rows were superseded elsewhere
    assert found["stream loans"].top_reasons() == "none"


def _severities(suites: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {
        f"{suite.name}: {e.expectation_type} {getattr(e, 'column', '')}".strip(): str(e.severity.value)
        for suite in suites
        for e in suite.expectations
    }


def test_only_what_no_row_rule_absorbs_fails_a_run() -> None:
    batches = RunBatches((LandedFile(BATCH_A, SHA_A, "a.csv"),))
    raw = _severities(raw_suites(batches, with_stream=True))
    fatal = {name for name, severity in raw.items() if severity == GATE.value}
    assert fatal == {
        "raw.loans: expect_table_columns_to_match_set",
        "raw.loans: expect_compound_columns_to_be_unique",
        "raw.loan_events: expect_table_columns_to_match_set",
        "raw.loan_events: expect_compound_columns_to_be_unique",
    }
    assert raw["raw.loans: expect_column_values_to_match_regex Int Rate"] == REPORT.value
    assert not any("row_count" in name for name in raw)  # an empty batch passes
    marts = _severities(marts_suites(batch_quarantines(batches, []), 0.05))
    assert marts["quarantined share per batch: expect_column_values_to_be_between quarantined_share"] == GATE.value


def test_a_failed_warning_is_kept_but_not_fatal() -> None:
    results = [
        {"success": False, "expectation_config": {"type": "expect_x", "kwargs": {}, "severity": "warning"},
         "result": {"unexpected_count": 1, "partial_unexpected_list": ["13.49"]}},
        {"success": False, "expectation_config": {"type": "expect_y", "kwargs": {}}, "result": {"observed_value": 0}},
    ]  # fmt: skip
    warning, critical = failures_from_result("raw.loans", results)
    assert (warning.fatal, critical.fatal) == (False, True)


def test_key_value_dsns_reach_gx_as_urls() -> None:
    url = as_url("host=127.0.0.1 port=55432 dbname=lendflow user=lendflow_gate password=p/w@x sslmode=disable")
    expected = (
        "postgresql://lendflow_gate:p%2Fw%40x@127.0.0.1:55432/lendflow?sslmode=disable"  # pragma: allowlist secret
    )
    assert url == expected
    assert as_url("postgresql://u:p@h:1/d") == "postgresql://u:p@h:1/d"  # pragma: allowlist secret


def test_the_quarantine_threshold_is_a_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LENDFLOW_MAX_QUARANTINED_SHARE", raising=False)
    assert config.load().max_quarantined_share == 0.05
    monkeypatch.setenv("LENDFLOW_MAX_QUARANTINED_SHARE", "0.2")
    assert config.load().max_quarantined_share == 0.2
    for bad in ("5%", "1.5"):
        monkeypatch.setenv("LENDFLOW_MAX_QUARANTINED_SHARE", bad)
        with pytest.raises(ValueError, match="LENDFLOW_MAX_QUARANTINED_SHARE"):
            config.load()
