"""Hypothesis strategies for dirty loan records: what a real feed can put in any raw field.

A record starts as a real-looking clean one (from the project's generator) and has a few of
its fields replaced by dirt: arbitrary text, edge numbers, broken dates, whitespace, control
and bidirectional characters, other spellings. Pure: tests decide where the rows go.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow.csv as pacsv
from hypothesis import strategies as st

from lendflow.raw_columns import RAW_COLUMNS
from sample.table import generate_table

NUMERIC_COLUMNS = (
    "Annual Inc",
    "Annual Inc Joint",
    "Avg Cur Bal",
    "Tot Cur Bal",
    "Loan Id",
    "Loan Amount",
    "Funded Amount",
    "Int Rate",
    "Grade",
)

# Characters that break naive parsers and renderers: controls, bidi overrides, zero-width and
# non-ASCII spaces, letters that case-fold into ASCII on some engines ('ı' -> 'I', 'ſ' -> 'S').
TRICKY_CHARACTERS = "\t\r\n\x0b\x0c\x01\x1b\x7f\u0085\u00a0\u2028\u2029\u200b\u200e\u202e\u2066\ufeffıſİK\u00df"

edge_numbers = st.one_of(
    st.sampled_from(
        [
            "0",
            "-0",
            "+1",
            "1e309",
            "-1e309",
            "1e-400",
            "1e99999",
            "1e-99999",
            "1.7976931348623157e308",
            "1.8e308",
            "4.9e-324",
            "2e-324",
            "9223372036854775808",
            "99999999999999999999",
            ".5",
            "5.",
            "1_000",
            "1,000",
            "0x10",
            "NaN",
            "nan",
            "inf",
            "-Infinity",
            "Infinity",
            "1e",
            "e5",
            "--1",
            "1.2.3",
            "١٢٣",
            "１２",
            "+.e1",
            "00000000000000000000001",
            "1" * 400,
            "0." + "0" * 400 + "1",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=None).map(str),
    st.builds(
        "{}{}e{}{}".format,
        st.sampled_from(["", "-", "+"]),
        st.integers(0, 10**6).map(str),
        st.sampled_from(["", "-", "+"]),
        st.integers(0, 100_000).map(str),
    ),
)

edge_dates = st.one_of(
    st.builds(
        "{} {} {}".format,
        st.integers(-1, 40).map(str),
        st.sampled_from(["January", "february", "MARCH", "Febuary", "Sept", "Juni", "May ", "ıanuary"]),
        st.integers(-1, 10_000).map(lambda year: f"{year:04d}"),
    ),
    st.dates().map(lambda day: day.strftime("%d %B %Y")),
    st.sampled_from(
        [
            "29 February 2015",
            "29 February 2016",
            "31 April 2014",
            "0 June 2014",
            "14 August 2014\n",
            "14  August 2014",
            "2014-08-14",
            "14/08/2014",
        ]
    ),
)

any_text = st.text(alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(TRICKY_CHARACTERS)), max_size=40)


def respelled(clean: str) -> st.SearchStrategy[str]:
    """The clean value with other case, padding or a tricky character: often still usable."""
    return st.one_of(
        st.builds(
            "{}{}{}".format, st.sampled_from(["", " ", "  ", "\t"]), st.just(clean), st.sampled_from(["", " ", "\n"])
        ),
        st.sampled_from([clean.upper(), clean.lower(), clean.title(), clean.replace(" ", "_")]),
        st.builds("{}{}".format, st.just(clean), st.sampled_from(TRICKY_CHARACTERS)),
    )


def dirt_for(column: str, clean: str) -> st.SearchStrategy[str]:
    """A dirty value for one raw column, of the kinds that column meets in real feeds."""
    kinds = [any_text, respelled(clean), st.just(""), st.just("x" * 600)]
    if column in NUMERIC_COLUMNS:
        kinds.append(edge_numbers)
    if column == "Issue Date":
        kinds.append(edge_dates)
    if column == "Term":
        kinds.append(st.builds("{} months".format, edge_numbers))
    return st.one_of(*kinds)


@dataclass(frozen=True)
class DirtyRow:
    values: dict[str, str]
    dirtied: frozenset[str]  # the raw columns whose value was replaced (it may still be usable)

    def with_loan_id(self, loan_id: int) -> DirtyRow:
        """The row under a fresh loan id, unless its id is part of the dirt."""
        if "Loan Id" in self.dirtied:
            return self
        return DirtyRow({**self.values, "Loan Id": str(loan_id)}, self.dirtied)


@lru_cache(maxsize=1)
def clean_rows(rows: int = 300, seed: int = 20) -> tuple[dict[str, str], ...]:
    """Real-looking clean loans from the project's generator, as the text its CSV file holds."""
    buffer = io.BytesIO()
    pacsv.write_csv(generate_table(rows, seed), buffer)
    return tuple(csv.DictReader(io.StringIO(buffer.getvalue().decode())))


def dirtied(row: dict[str, str], **dirt: str) -> DirtyRow:
    """A clean row with the given raw columns (as keyword names: Annual_Inc) replaced."""
    changes = {name.replace("_", " "): value for name, value in dirt.items()}
    return DirtyRow({**row, **changes}, frozenset(changes))


@st.composite
def dirty_rows(draw: st.DrawFn) -> DirtyRow:
    """One row: a clean row with zero to three fields made dirty."""
    values = dict(draw(st.sampled_from(clean_rows())))
    columns = draw(st.lists(st.sampled_from(RAW_COLUMNS), max_size=3, unique=True))
    for column in columns:
        values[column] = draw(dirt_for(column, values[column]))
    return DirtyRow(values, frozenset(columns))


def write_batch(rows: list[DirtyRow], path: Path) -> Path:
    """The rows as a CSV file with the 24 raw columns, every value quoted."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(RAW_COLUMNS)
        for row in rows:
            writer.writerow([row.values[name] for name in RAW_COLUMNS])
    return path


def sample_rows(sample: Path, out: Path, start: int, stop: int, *, percent_every: int = 0) -> Path:
    """Rows [start, stop) of the sample's loans.csv; with percent_every, every n-th row's rate is
    sent in percent ('13.49': int_rate_out_of_range), as a sender that switched units would."""
    with open(sample / "loans.csv", newline="") as source, open(out, "w", newline="") as target:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(target, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for number, row in enumerate(reader):
            if start <= number < stop:
                if percent_every and number % percent_every == 0:
                    row["Int Rate"] = "13.49"
                writer.writerow(row)
    return out


def csv_loan_ids(path: Path) -> set[int]:
    """The whole-number loan ids of a CSV file of loans."""
    with open(path, newline="") as handle:
        return {int(row["Loan Id"]) for row in csv.DictReader(handle) if row["Loan Id"].strip().isdigit()}
