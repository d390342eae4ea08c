"""What the Python steps fit on: every landed record, folded into title counts and balances.

One fold serves both engines (python_steps.run on PostgreSQL, python_steps.spark on
Spark); they differ only in where the rows come from. A row holds INPUT_COLUMNS' values in
that order (title first, then the balances), with how many records it stands for: a count
lets PostgreSQL hand over titles already grouped when no balance is wanted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeGuard

from lendflow.raw_columns import RAW_NAME_OF
from lendflow.warehouse_rules import load_rules
from python_steps.transforms import TRANSFORMED_COLUMNS

TITLE_COLUMN = RAW_NAME_OF["emp_title"]
INPUT_COLUMNS: tuple[str, ...] = (TITLE_COLUMN, *(RAW_NAME_OF[column] for column in TRANSFORMED_COLUMNS))
"""The raw columns the steps read, by the names they landed under (files) or arrived with (stream)."""

InputRow = tuple[Sequence[object], int]
"""Values in INPUT_COLUMNS order (the title alone when no balance is wanted), and the records it stands for."""


def balance_value(column: str, text: object) -> float | None:
    """The value dbt reads for this column, or None when dbt would quarantine it: the fit sees
    exactly the balances that can reach the marts (Python's float() also takes 'nan', '1_000')."""
    return load_rules().as_number(text, column)


def usable_title(title: object) -> TypeGuard[str]:
    """A title dbt can keep: text within the declared length (a longer one quarantines its
    record, and could not be a key of the map: PostgreSQL's b-tree limit)."""
    return isinstance(title, str) and len(title.strip(" ")) <= load_rules().max_text_length


@dataclass(frozen=True)
class LandedValues:
    """What the steps fit on, from every landed record, files and stream."""

    titles: Counter[str]  # loans per raw title
    balances: dict[str, list[float | None]]  # each transformed column's values (empty unless asked)


def fold_landed_values(rows: Iterable[InputRow], *, with_balances: bool) -> LandedValues:
    """Title counts and, when asked, each balance column's values, in the order the rows come."""
    titles: Counter[str] = Counter()
    balances: dict[str, list[float | None]] = {column: [] for column in TRANSFORMED_COLUMNS}
    for values, count in rows:
        title = values[0]
        if usable_title(title):
            titles[title] += count
        if with_balances:
            for column, value in zip(TRANSFORMED_COLUMNS, values[1:], strict=True):
                balances[column].extend([balance_value(column, value)] * count)
    return LandedValues(titles, balances)


def stream_rows(message_values: Iterable[str | None]) -> Iterator[InputRow]:
    """The input rows of the stream's messages: JSON objects only (dbt quarantines anything else)."""
    for value in message_values:
        try:
            record = json.loads(value) if value else None
        except ValueError:
            continue
        if isinstance(record, dict):
            yield tuple(record.get(name) for name in INPUT_COLUMNS), 1


def file_rows(rows: Iterable[Sequence[object]]) -> Iterator[InputRow]:
    """Rows of raw.loans' INPUT_COLUMNS, one record each."""
    return ((row, 1) for row in rows)
