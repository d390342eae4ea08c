"""Row-by-row comparison of two answers to the same question (pure functions, no Spark).

Used by the parity test (every mart on PostgreSQL vs on Spark) and the two-way question test
(Spark SQL vs DataFrame API vs the dbt marts). Rows are matched on their keys; numbers must
agree within a relative tolerance (sums and averages add up in a different order on each
engine), everything else (text, dates, booleans, nulls) exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

REL_TOL = 1e-9
# Below this, two numbers count as equal whatever their ratio (0 vs 1e-13 after summing).
ABS_TOL = 1e-12


def normalise(value: Any) -> Any:
    """One representation per value: Decimal and numpy numbers as float, NaN/NaT as None, UTC datetimes naive."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal | int | float):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return value
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    return value


# A number written as text (a lookup table's encoded_value). Both engines write a double alike
# (dbt's float_to_text macro), so the same number written two ways ('-14000', '-14000.0') is a
# difference; two nearby numbers (a mean summed in another order) agree within the tolerance.
_NUMBER_TEXT = re.compile(r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def values_equal(left: Any, right: Any, rel_tol: float = REL_TOL) -> bool:
    left, right = normalise(left), normalise(right)
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, str) and isinstance(right, str) and left != right:
        if _NUMBER_TEXT.match(left) and _NUMBER_TEXT.match(right) and float(left) != float(right):
            return math.isclose(float(left), float(right), rel_tol=rel_tol, abs_tol=ABS_TOL)
        return False
    if isinstance(left, float) and isinstance(right, float) and not isinstance(left, bool):
        return math.isclose(left, right, rel_tol=rel_tol, abs_tol=ABS_TOL)
    if isinstance(left, datetime) and isinstance(right, datetime):
        return left == right
    if isinstance(left, date) and isinstance(right, date):
        return left == right
    return bool(left == right)


Row = Mapping[str, Any]


def index_rows(rows: Iterable[Row], keys: Sequence[str]) -> dict[tuple[Any, ...], Row]:
    """Rows by their key; a repeated key is an error (the keys must identify a row)."""
    indexed: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        key = tuple(normalise(row[k]) for k in keys)
        if key in indexed:
            raise ValueError(f"key {dict(zip(keys, key, strict=True))} appears more than once")
        indexed[key] = row
    return indexed


def row_differences(
    left: Iterable[Row],
    right: Iterable[Row],
    keys: Sequence[str],
    columns: Sequence[str],
    *,
    rel_tol: float = REL_TOL,
    limit: int = 20,
) -> list[str]:
    """Human-readable differences between two row sets (empty when they agree)."""
    by_key_left, by_key_right = index_rows(left, keys), index_rows(right, keys)
    problems: list[str] = []
    only_left = sorted(set(by_key_left) - set(by_key_right), key=repr)
    only_right = sorted(set(by_key_right) - set(by_key_left), key=repr)
    problems += [f"only on the left: {dict(zip(keys, k, strict=True))}" for k in only_left[:limit]]
    problems += [f"only on the right: {dict(zip(keys, k, strict=True))}" for k in only_right[:limit]]
    for key in sorted(set(by_key_left) & set(by_key_right), key=repr):
        for column in columns:
            a, b = by_key_left[key][column], by_key_right[key][column]
            if not values_equal(a, b, rel_tol):
                problems.append(f"{dict(zip(keys, key, strict=True))} {column}: {a!r} != {b!r}")
                if len(problems) >= limit:
                    return problems
    return problems[:limit]
