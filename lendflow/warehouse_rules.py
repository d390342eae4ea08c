"""The warehouse's validation rules, read from where dbt declares them (dbt_project.yml vars).

dbt applies them in SQL on both engines; the Python steps read raw values before dbt and must
use exactly the numbers dbt would accept, so they read the same declaration instead of a copy.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml  # type: ignore[import-untyped]

from lendflow.settings import DBT_PROJECT_DIR


@dataclass(frozen=True)
class Bounds:
    low: float
    high: float
    exclusive: frozenset[str] = frozenset()

    def admits(self, value: float) -> bool:
        above = value > self.low if "min" in self.exclusive else value >= self.low
        below = value < self.high if "max" in self.exclusive else value <= self.high
        return above and below


@dataclass(frozen=True)
class WarehouseRules:
    number_pattern: re.Pattern[str]
    max_text_length: int
    value_ranges: dict[str, Bounds]

    def as_number(self, text: object, column: str | None = None) -> float | None:
        """The value dbt reads from a raw text (space-trimmed, the shared grammar), or None when
        dbt would not read it as a number, or (given a column) would put it outside its range."""
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            return None
        trimmed = str(text).strip(" ")
        if len(trimmed) > self.max_text_length or not self.number_pattern.fullmatch(trimmed):
            return None
        value = float(trimmed)  # the grammar admits nothing float() refuses; too large -> inf
        if not math.isfinite(value):
            return None
        if column is not None and column in self.value_ranges and not self.value_ranges[column].admits(value):
            return None
        return value


def parse_rules(project: dict[str, Any]) -> WarehouseRules:
    """The rules from a parsed dbt_project.yml."""
    variables = project["vars"]
    ranges = {
        column: Bounds(float(spec["min"]), float(spec["max"]), frozenset(spec.get("exclusive", [])))
        for column, spec in variables["value_ranges"].items()
    }
    return WarehouseRules(re.compile(variables["number_grammar"]), int(variables["max_text_length"]), ranges)


@cache
def load_rules() -> WarehouseRules:
    with (DBT_PROJECT_DIR / "dbt_project.yml").open() as handle:
        return parse_rules(yaml.safe_load(handle))
