"""The sample-data generator against the rules in DATA.md.

Statistics are checked on the documented sample size (27,030 rows, seed 42) with tolerances
wide enough for sampling noise and narrow enough to catch a broken distribution. The expected
names, sets and ranges are written out here from DATA.md, not imported from the generator, so
a wrong constant in the generator makes a test fail.
"""

from __future__ import annotations

import base64
import csv
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from sample.files import write_sample
from sample.table import generate_chunks, generate_table, next_loan_id

ROWS, SEED = 27_030, 42

EXPECTED_SCHEMA = [
    ("Customer Id", pa.string()),
    ("Emp Title", pa.string()),
    ("Emp Length", pa.string()),
    ("Home Ownership", pa.string()),
    ("Annual Inc", pa.float64()),
    ("Annual Inc Joint", pa.float64()),
    ("Verification Status", pa.string()),
    ("Zip Code", pa.string()),
    ("Addr State", pa.string()),
    ("Avg Cur Bal", pa.float64()),
    ("Tot Cur Bal", pa.float64()),
    ("Loan Id", pa.int64()),
    ("Loan Status", pa.string()),
    ("Loan Amount", pa.float64()),
    ("State", pa.string()),
    ("Funded Amount", pa.float64()),
    ("Term", pa.string()),
    ("Int Rate", pa.float64()),
    ("Grade", pa.int64()),
    ("Issue Date", pa.string()),
    ("Pymnt Plan", pa.bool_()),
    ("Type", pa.string()),
    ("Purpose", pa.string()),
    ("Description", pa.string()),
]
# DATA.md: column -> (expected missing share, absolute tolerance). Unlisted columns: never missing.
MISSING = {
    "Emp Title": (0.086, 0.01),
    "Emp Length": (0.068, 0.01),
    "Annual Inc Joint": (0.93, 0.015),
    "Int Rate": (0.044, 0.008),
    "Description": (0.008, 0.004),
}
TYPES = {"Individual", "INDIVIDUAL", "Joint App", "JOINT", "DIRECT_PAY"}
PURPOSES = {
    "car", "credit_card", "debt_consolidation", "home_improvement", "house", "major_purchase",
    "medical", "moving", "other", "renewable_energy", "small_business", "vacation", "wedding",
}  # fmt: skip
EMP_LENGTHS = {"< 1 year", "1 year", *(f"{k} years" for k in range(2, 10)), "10+ years"}
LOAN_STATUSES = {
    "Current", "Fully Paid", "Charged Off", "Late (31-120 days)", "In Grace Period",
    "Late (16-30 days)", "Default",
}  # fmt: skip
US_CODES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY",
}  # fmt: skip
BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return generate_table(ROWS, SEED)


@pytest.fixture(scope="module")
def df(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("sample")
    return write_sample(out, rows=12_000, seed=SEED, stream_rows=2_000, progress=False)


# --------------------------------------------------------------------------------------------
# Shape
# --------------------------------------------------------------------------------------------
def test_exact_column_names_order_and_types(table: pa.Table) -> None:
    assert table.num_rows == ROWS
    assert [(f.name, f.type) for f in table.schema] == EXPECTED_SCHEMA


def test_chunks_have_the_raw_schema_and_requested_size() -> None:
    chunks = list(generate_chunks(10_000, 3, chunk_size=4_000))
    assert [c.num_rows for c in chunks] == [4_000, 4_000, 2_000]
    assert all([(f.name, f.type) for f in c.schema] == EXPECTED_SCHEMA for c in chunks)


@pytest.mark.parametrize("seed", [SEED, 2024])
def test_missing_rates(seed: int, df: pd.DataFrame) -> None:
    frame = df if seed == SEED else generate_table(ROWS, seed).to_pandas()
    rates = frame.isna().mean()
    for column, rate in rates.items():
        expected, tolerance = MISSING.get(str(column), (0.0, 0.0))
        assert abs(rate - expected) <= tolerance, f"{column}: missing {rate:.4f}, want {expected}"


def test_emp_length_mostly_missing_together_with_emp_title(df: pd.DataFrame) -> None:
    no_length = df["Emp Length"].isna()
    assert df.loc[no_length, "Emp Title"].isna().mean() > 0.9
    # ...but not always: a missing title alone is common too.
    assert df.loc[df["Emp Title"].isna(), "Emp Length"].notna().mean() > 0.1


# --------------------------------------------------------------------------------------------
# Value sets
# --------------------------------------------------------------------------------------------
def test_categorical_value_sets(df: pd.DataFrame) -> None:
    assert set(df["Type"]) == TYPES  # all five spellings occur
    assert set(df["Purpose"]) == PURPOSES
    assert set(df["Term"]) == {" 36 months", " 60 months"}  # with the leading space
    assert set(df["Verification Status"]) == {"Source Verified", "Not Verified", "Verified"}
    assert set(df["Loan Status"]) <= LOAN_STATUSES
    assert set(df["Loan Status"]) >= LOAN_STATUSES - {"Default"}
    homes = set(df["Home Ownership"])
    assert {"MORTGAGE", "RENT", "OWN", "ANY"} <= homes <= {"MORTGAGE", "RENT", "OWN", "ANY", "OTHER"}
    lengths = df["Emp Length"].dropna()
    assert set(lengths) == EMP_LENGTHS
    assert lengths.value_counts().index[0] == "10+ years"


def test_category_frequencies_are_realistic(df: pd.DataFrame) -> None:
    status = df["Loan Status"].value_counts(normalize=True)
    assert status.index[0] == "Current" and status.index[1] == "Fully Paid"
    assert status.get("Default", 0.0) < 0.002  # rare
    home = df["Home Ownership"].value_counts(normalize=True)
    assert home.index[0] == "MORTGAGE" and home.get("OTHER", 0.0) < 0.001
    assert df["Purpose"].value_counts().index[0] == "debt_consolidation"
    assert 0.2 < (df["Term"] == " 60 months").mean() < 0.4
    assert df["Pymnt Plan"].mean() < 0.001  # almost always False


def test_grade_range_and_rate_rises_with_grade(df: pd.DataFrame) -> None:
    assert set(df["Grade"]) == set(range(1, 36))
    rate = df["Int Rate"].dropna()
    assert rate.between(0.05, 0.31).all()
    letter = (df["Grade"] - 1) // 5
    by_letter = df.groupby(letter)["Int Rate"].mean()
    assert list(by_letter.index) == list(range(7))
    assert by_letter.is_monotonic_increasing and by_letter.diff().dropna().min() > 0.02
    assert df["Grade"].corr(df["Int Rate"], method="spearman") > 0.9
    # Missing rates are spread evenly over the letters that have enough loans (A..D).
    missing_by_letter = df["Int Rate"].isna().groupby(letter).mean()
    assert missing_by_letter.loc[0:3].between(0.02, 0.07).all()


def test_geography(df: pd.DataFrame) -> None:
    assert (df["State"] == df["Addr State"]).all()
    states = set(df["Addr State"])
    assert len(states) == 50 and states <= US_CODES
    assert df["Zip Code"].str.fullmatch(r"\d{3}xx").all()


def test_ids_and_amounts(df: pd.DataFrame) -> None:
    assert df["Loan Id"].is_unique and df["Loan Id"].min() >= 1
    assert df["Loan Id"].max() < next_loan_id(ROWS)
    assert not df["Loan Id"].is_monotonic_increasing  # rows are not sorted by id
    assert (df["Funded Amount"] == df["Loan Amount"]).all()
    assert df["Loan Amount"].between(1_000, 40_000).all()
    ids = df["Customer Id"]
    assert ids.is_unique and ids.str.fullmatch(BASE64).all()
    assert base64.b64decode(ids.iloc[0]).startswith((b"b'", b'b"'))  # opaque, base64-looking


# --------------------------------------------------------------------------------------------
# Numeric shapes
# --------------------------------------------------------------------------------------------
def test_income_has_the_real_heavy_tail(df: pd.DataFrame) -> None:
    income = df["Annual Inc"]
    assert 60_000 <= income.median() <= 75_000
    assert 220_000 <= income.quantile(0.99) <= 340_000
    assert income.min() >= 200 and income.max() <= 9_600_000
    q1, q3 = income.quantile([0.25, 0.75])
    fences = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1))
    assert 0.03 <= (~income.between(*fences)).mean() <= 0.07
    non_integer = (income % 1 != 0).mean()
    assert 0.001 <= non_integer <= 0.02


def test_joint_income_only_for_joint_applications(df: pd.DataFrame) -> None:
    joint_type = df["Type"].isin(["Joint App", "JOINT"])
    assert (df["Annual Inc Joint"].notna() == joint_type).all()
    joint = df.loc[joint_type]
    assert (joint["Annual Inc Joint"] >= joint["Annual Inc"]).all()


def test_balances_are_skewed_like_the_real_ones(df: pd.DataFrame) -> None:
    average, total = df["Avg Cur Bal"], df["Tot Cur Bal"]
    assert average.min() >= 0 and average.max() <= 345_000
    assert total.min() >= 1 and total.max() <= 2_750_000
    assert 2.5 <= average.skew() <= 5.5
    assert 1.5 <= total.skew() <= 3.0
    assert (average <= total).all()
    assert (average % 1 == 0).all() and (total % 1 == 0).all()


def test_income_drives_loan_amount_and_balances(df: pd.DataFrame) -> None:
    log_income = np.log(df["Annual Inc"])
    assert np.corrcoef(log_income, np.log(df["Loan Amount"]))[0, 1] > 0.25
    assert np.corrcoef(log_income, np.log(df["Tot Cur Bal"]))[0, 1] > 0.3


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------
def test_issue_dates_parse_and_cluster(df: pd.DataFrame) -> None:
    text = df["Issue Date"]
    assert text.str.fullmatch(r"\d{2} [A-Z][a-z]+ \d{4}").all()  # zero-padded day, as in the data
    dates = [datetime.strptime(v, "%d %B %Y") for v in text.unique()]
    assert 80 <= len(dates) <= 96  # ~90 distinct dates: many loans share a date
    assert {d.year for d in dates} == set(range(2012, 2020))
    assert text.value_counts().iloc[0] > 100


def test_emp_title_is_messy_free_text(df: pd.DataFrame) -> None:
    titles = df["Emp Title"].dropna()
    assert 9_000 <= titles.nunique() <= 17_000
    normalised = titles.str.strip().str.lower()
    assert normalised.nunique() < titles.nunique()  # case/space variants of the same title
    assert 0.07 <= titles.str.endswith(" ").mean() <= 0.14
    assert {"RN", "Registered Nurse", "registered nurse", "Teacher", "teacher"} <= set(titles.str.strip())
    assert normalised.value_counts().index[0] in {"teacher", "manager"}


def test_description_mostly_the_purpose(df: pd.DataFrame) -> None:
    described = df.dropna(subset=["Description"])
    as_title = described["Purpose"].str.replace("_", " ").str.capitalize()
    assert (described["Description"] == as_title).mean() > 0.6
    assert described["Description"].nunique() > 100  # some free text
    assert described["Description"].str.endswith(" ").any()


# --------------------------------------------------------------------------------------------
# Determinism and chunking
# --------------------------------------------------------------------------------------------
def test_chunked_output_equals_unchunked() -> None:
    whole = generate_table(20_000, 7)
    for size in (999, 8_192, 100_000):  # smaller than, equal to and larger than a block
        chunked = pa.concat_tables(generate_chunks(20_000, 7, chunk_size=size))
        assert chunked.equals(whole), f"chunk_size={size}"
    one_row_chunks = list(generate_chunks(50, 7, chunk_size=1))
    assert len(one_row_chunks) == 50
    assert pa.concat_tables(one_row_chunks).equals(generate_table(50, 7))


def test_same_seed_same_values_other_seed_other_values() -> None:
    assert generate_table(3_000, 11).equals(generate_table(3_000, 11))
    other = generate_table(3_000, 12)
    assert not generate_table(3_000, 11).equals(other)
    assert set(generate_table(3_000, 11)["Customer Id"].to_pylist()).isdisjoint(other["Customer Id"].to_pylist())


def test_first_loan_id_shifts_ids_only() -> None:
    base, shifted = generate_table(2_000, 5), generate_table(2_000, 5, first_loan_id=1_000_000)
    offset = pa.array(np.asarray(base["Loan Id"]) + 999_999)
    assert shifted["Loan Id"].combine_chunks().equals(offset)
    assert shifted.drop_columns(["Loan Id"]).equals(base.drop_columns(["Loan Id"]))


def test_write_sample_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    first = write_sample(tmp_path / "a", rows=3_000, seed=9, stream_rows=300, progress=False)
    again = write_sample(tmp_path / "b", rows=3_000, seed=9, stream_rows=300, progress=False)
    other = write_sample(tmp_path / "c", rows=3_000, seed=10, stream_rows=300, progress=False)
    assert len(first.paths) == 4
    for a, b, c in zip(first.paths, again.paths, other.paths, strict=True):
        assert a.name == b.name == c.name
        assert a.read_bytes() == b.read_bytes(), a.name
        assert a.read_bytes() != c.read_bytes(), a.name


def test_write_sample_files(sample) -> None:
    assert {p.name for p in sample.paths} == {"loans.csv", "loans.parquet", "stream.csv", "stream.parquet"}
    assert all(p.parent == sample.out_dir and p.exists() for p in sample.paths)
    assert not list(sample.out_dir.glob("*.tmp"))
    loans = pq.read_table(sample.loans_parquet)
    assert loans.num_rows == 12_000
    assert [(f.name, f.type) for f in loans.schema] == EXPECTED_SCHEMA
    assert loans.equals(generate_table(12_000, SEED))


def test_stream_sample_has_new_loan_ids(sample) -> None:
    batch = pq.read_table(sample.loans_parquet)
    stream = pq.read_table(sample.stream_parquet)
    assert stream.num_rows == 2_000
    batch_ids, stream_ids = set(batch["Loan Id"].to_pylist()), set(stream["Loan Id"].to_pylist())
    assert len(stream_ids) == 2_000 and batch_ids.isdisjoint(stream_ids)
    assert min(stream_ids) >= sample.first_stream_loan_id > max(batch_ids)
    # New loans, not copies of batch rows.
    assert set(batch["Customer Id"].to_pylist()).isdisjoint(stream["Customer Id"].to_pylist())


def test_formats_option(tmp_path: Path) -> None:
    files = write_sample(tmp_path, rows=100, seed=1, formats=("parquet",), stream_rows=10, progress=False)
    assert files.loans_csv is None and files.stream_csv is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loans.parquet", "stream.parquet"]
    with pytest.raises(ValueError):
        write_sample(tmp_path, rows=10, formats=("xlsx",), progress=False)
    with pytest.raises(ValueError):
        list(generate_chunks(-1, 1))


def test_progress_bar_does_not_change_output(tmp_path: Path) -> None:
    quiet = write_sample(tmp_path / "q", rows=500, seed=3, stream_rows=50, progress=False)
    shown = write_sample(tmp_path / "p", rows=500, seed=3, stream_rows=50, progress=True)
    assert [p.read_bytes() for p in quiet.paths] == [p.read_bytes() for p in shown.paths]


# --------------------------------------------------------------------------------------------
# CSV: raw text as it arrives
# --------------------------------------------------------------------------------------------
def test_csv_round_trips_the_raw_text(sample) -> None:
    schema = pa.schema(EXPECTED_SCHEMA)
    read = pacsv.read_csv(
        sample.loans_csv,
        convert_options=pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True),
    )
    assert read.equals(pq.read_table(sample.loans_parquet))

    with sample.loans_csv.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header == [name for name, _ in EXPECTED_SCHEMA]
    col = {name: i for i, name in enumerate(header)}
    terms = {r[col["Term"]] for r in body}
    assert terms == {" 36 months", " 60 months"}  # leading space survives
    # Missing values are empty fields; trailing spaces in free text survive.
    assert any(r[col["Emp Title"]] == "" for r in body)
    assert any(r[col["Annual Inc Joint"]] == "" for r in body)
    assert any(r[col["Emp Title"]].endswith(" ") for r in body)
    assert {r[col["Pymnt Plan"]] for r in body} <= {"true", "false"}
    datetime.strptime(body[0][col["Issue Date"]], "%d %B %Y")
