"""Fitted statistics SQL cannot fit: Yeo-Johnson lambdas of the skewed balances (scipy)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

# The balances DATA.md calls skewed; SQL applies the transform with the lambdas fitted here.
TRANSFORMED_COLUMNS = ("avg_cur_bal", "tot_cur_bal")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FittedParameter:
    column_name: str
    method: str
    parameter_name: str
    parameter_value: float
    fitted_rows: int


def clean_values(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """Finite numbers only (missing or non-numeric values do not take part in a fit)."""
    array = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    return array[np.isfinite(array)]


def can_fit(column_name: str, values: Sequence[float | None] | np.ndarray) -> bool:
    """Whether the values can be fitted; if not, the column keeps no lambda until they can (its
    transformed values stay null), which a few identical balances must not turn into a failure."""
    array = clean_values(values)
    if array.size >= 3 and np.ptp(array) > 0:
        return True
    log.warning("%s: %d distinct finite values, too few to fit a transform yet", column_name, np.unique(array).size)
    return False


def fit_yeo_johnson(column_name: str, values: Sequence[float | None] | np.ndarray) -> FittedParameter:
    """The maximum-likelihood Yeo-Johnson lambda of the values (scipy.stats.yeojohnson_normmax)."""
    # sorted: the fit sums in the order it is given, and the same values read in another order
    # (the stream's partitions interleave differently on each landing) gave transformed values ~1e-7 apart
    array = np.sort(clean_values(values))
    if array.size < 3 or np.ptp(array) == 0:
        raise ValueError(f"{column_name}: need at least 3 distinct finite values to fit, got {array.size}")
    lmbda = float(stats.yeojohnson_normmax(array))
    return FittedParameter(column_name, "yeo_johnson", "lambda", lmbda, int(array.size))


def yeo_johnson(values: np.ndarray, lmbda: float) -> np.ndarray:
    """The transform itself (scipy's), for checking the SQL macro against it."""
    return np.asarray(stats.yeojohnson(np.asarray(values, dtype=float), lmbda=lmbda))
