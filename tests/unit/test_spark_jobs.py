"""Pure parts of spark_jobs/: row comparison, encoder mappings, staging batches, JDBC options."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import pytest

from ingestion.land import Record, Reject
from lendflow import settings as config
from spark_jobs.compare import row_differences, values_equal
from spark_jobs.encoders import emp_length_years, slug
from spark_jobs.export import jdbc_options
from spark_jobs.staging import LOANS_ARROW_SCHEMA, record_batches


def test_numbers_agree_within_a_relative_tolerance_only() -> None:
    assert values_equal(Decimal("10.5"), 10.5)
    assert values_equal(1e6, 1e6 * (1 + 1e-12))
    assert not values_equal(1e6, 1e6 * (1 + 1e-6))
    assert values_equal(0.0, 1e-15)  # summation noise around zero
    assert not values_equal(None, 0.0)
    assert values_equal(None, float("nan"))


def test_dates_text_and_timestamps_compare_exactly() -> None:
    assert values_equal(date(2014, 8, 14), date(2014, 8, 14))
    assert not values_equal(date(2014, 8, 14), date(2014, 8, 15))
    assert values_equal(datetime(2026, 1, 1, 12, tzinfo=UTC), datetime(2026, 1, 1, 12))
    assert not values_equal("Joint", "joint")
    # numbers as text: nearby numbers (summed in another order) agree, one number written two ways does not
    assert values_equal("0.22377072266831383", "0.2237707226683138")
    assert not values_equal("-14000", "-14000.0") and not values_equal("1.0E7", "10000000")
    assert not values_equal("333xx", "333XX") and not values_equal("1", "2")
    assert values_equal(True, True) and not values_equal(True, False)


def test_row_differences_names_missing_rows_and_different_values() -> None:
    left = [{"g": "A", "avg": 1.0, "n": 2}, {"g": "B", "avg": 2.0, "n": 1}]
    right = [{"g": "A", "avg": 1.0 + 1e-13, "n": 2}, {"g": "C", "avg": 2.0, "n": 1}]
    found = row_differences(left, right, ("g",), ("avg", "n"))
    assert found == ["only on the left: {'g': 'B'}", "only on the right: {'g': 'C'}"]
    assert row_differences(left, [{**left[0], "n": 3}, left[1]], ("g",), ("n",)) == ["{'g': 'A'} n: 2 != 3"]
    with pytest.raises(ValueError, match="more than once"):
        row_differences(left + left, right, ("g",), ("n",))


@pytest.mark.parametrize(
    ("text", "years"),
    [("< 1 year", 0), ("1 year", 1), ("5 years", 5), ("10+ years", 10), ("unknown", None)],
)
def test_employment_length_mapping(text: str, years: int | None) -> None:
    assert emp_length_years(text) == years


def test_one_hot_names_follow_dbts_slug() -> None:
    assert slug("Source Verified") == "source_verified"
    assert slug("Direct Pay") == "direct_pay"


def test_record_batches_keep_values_lineage_and_rejects() -> None:
    values: tuple[str | None, ...] = (*(f"v{i}" for i in range(23)), None)
    records = [Record(1, values), Reject(3, "a,b", "expected 24 fields, found 2"), Record(2, values)]
    batches = list(record_batches(records, "/data/x.csv", "batch-1", batch_rows=1))
    landed = [b for b, _ in batches if b is not None]
    assert [b.num_rows for b in landed] == [1, 1]
    assert landed[0].schema == LOANS_ARROW_SCHEMA
    row = landed[1].to_pylist()[0]
    assert (row["Customer Id"], row["Description"], row["_row_number"], row["_batch_id"]) == ("v0", None, 2, "batch-1")
    assert [r.line_number for _, rejects in batches for r in rejects] == [3]


def test_jdbc_options_come_from_the_one_dsn() -> None:
    settings = dataclasses.replace(config.load(), pg_dsn_override="postgresql://u:p%40ss@db.example:6543/wh")
    assert jdbc_options(settings) == {
        "url": "jdbc:postgresql://db.example:6543/wh",
        "user": "u",
        "password": unquote("p%40ss"),  # decoded from the DSN (and no literal for the secret scan)
        "driver": "org.postgresql.Driver",
    }


def test_spark_home_can_be_moved_apart_from_the_state_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDFLOW_SPARK_HOME", str(tmp_path / "s"))
    settings = config.load()
    assert settings.spark_warehouse_dir == tmp_path / "s" / "warehouse"
    assert settings.spark_metastore_dir == tmp_path / "s" / "metastore"
    assert settings.spark_packages_dir == settings.home / "spark-packages"  # downloaded once, shared
