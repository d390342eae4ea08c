"""The column draws: each group of raw columns as a pure function of the random stream.

Every column is built by a small vectorized function (numpy for numbers, pyarrow compute for
text), so a million rows take seconds. Columns are drawn in dependency order (year -> grade ->
term -> rate, income -> loan amount, ...) so the relationships the models and marts rely on
exist in the sample, not just the marginal distributions. The order of the draws fixes every
value: sample.table calls these functions in one order, always.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sample import distributions as dist
from sample.dirt import case_variants, drop_one_letter, pad


# =============================================================================================
# Small helpers
# =============================================================================================
def _normalised(weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum(axis=-1, keepdims=True)


def _draw_by_group(rng: np.random.Generator, table: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One categorical draw per row, from the row of `table` chosen by `group` (vectorized)."""
    cum = np.cumsum(_normalised(table), axis=1)
    cum[:, -1] = 1.0  # guard against rounding leaving u > last edge
    u = np.asarray(rng.random(group.shape[0]))
    return (u[:, None] >= cum[group]).sum(axis=1)


def _draw(rng: np.random.Generator, weights: np.ndarray | Sequence[float], n: int) -> np.ndarray:
    return rng.choice(len(weights), size=n, p=_normalised(np.asarray(weights, dtype=float)))


def _pick(rng: np.random.Generator, k: int, n: int) -> np.ndarray:
    """n uniform indexes in 0..k-1."""
    return np.asarray(rng.integers(0, k, size=n))


def _chance(rng: np.random.Generator, p: float | np.ndarray, n: int) -> np.ndarray:
    """n independent events of probability p (scalar or one per row)."""
    return np.asarray(rng.random(n) < p)


def _zipf_weights(k: int, exponent: float = 1.0) -> np.ndarray:
    return 1.0 / np.arange(1, k + 1, dtype=float) ** exponent


def labels(values: Sequence[str], idx: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Text column from label indexes; `missing` rows become nulls."""
    return pa.array(values, pa.string()).take(pa.array(idx, pa.int64(), mask=missing))


def _round_mixed(rng: np.random.Generator, x: np.ndarray, steps: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Round each value to a step drawn from `steps` ((step, share), ...), as people state them."""
    step = np.array([s for s, _ in steps])[_draw(rng, [w for _, w in steps], x.shape[0])]
    # Never round a value to 0 by using a step coarser than the value itself.
    step = np.where(step > x, 1.0, step)
    out = np.round(x / step) * step
    # Decimal steps leave binary noise (0.1 + 0.2); keep 3 decimals at most, like the source.
    return np.round(out, 3)


# =============================================================================================
# Column groups (each a pure function of the random stream and earlier columns)
# =============================================================================================
def issue_dates(rng: np.random.Generator, n: int) -> tuple[np.ndarray, pa.Array]:
    """Year index (0 = 2012) and the raw `%d %B %Y` text, the day being the two-digit year."""
    months = [(y, m) for y in dist.YEARS for m in range(dist.FIRST_MONTH.get(y, 1), 13)]
    year_of = np.array([dist.YEARS.index(y) for y, _ in months])
    # Within a year volume is flat; across years it follows dist.YEAR_WEIGHTS.
    per_month = dist.YEAR_WEIGHTS[year_of] / np.bincount(year_of)[year_of]
    which = _draw(rng, per_month, n)
    text = [f"{y % 100:02d} {dist.MONTH_NAMES[m - 1]} {y}" for y, m in months]
    return year_of[which], labels(text, which)


def grades_and_rates(
    rng: np.random.Generator, year: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Grade (1..35), letter index (0 = A), 60-month flag, and Int Rate (NaN where missing)."""
    n = year.shape[0]
    letter = _draw_by_group(rng, dist.LETTER_BY_YEAR, year)
    grade = letter * 5 + rng.integers(1, 6, size=n)
    sixty = _chance(rng, dist.SIXTY_MONTH_BY_LETTER[letter], n)
    mean, sd, lo, hi = (dist.RATE_BY_LETTER[letter, k] for k in range(4))
    rate = np.round(np.clip(rng.normal(mean, sd), lo, hi), 4)
    rate = np.where((letter > 0) & (_chance(rng, dist.STRAY_RATE_SHARE, n)), dist.STRAY_RATE, rate)
    rate = np.where(_chance(rng, dist.INT_RATE_MISSING, n), np.nan, rate)
    return grade.astype(np.int64), letter, sixty, rate


def loan_statuses(rng: np.random.Generator, year: np.ndarray, letter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loan Status index by vintage, charge-offs tilted by grade; and the Pymnt Plan flag."""
    status = _draw_by_group(rng, dist.STATUS_BY_YEAR, year)
    charged, paid = dist.LOAN_STATUSES.index("Charged Off"), dist.LOAN_STATUSES.index("Fully Paid")
    # Re-split finished loans between Charged Off and Fully Paid with grade-adjusted odds.
    base = dist.STATUS_BY_YEAR[:, charged] / (dist.STATUS_BY_YEAR[:, charged] + dist.STATUS_BY_YEAR[:, paid])
    odds = base[year] / (1 - base[year]) * dist.CHARGE_OFF_ODDS_BY_LETTER[letter]
    finished = (status == charged) | (status == paid)
    n = year.shape[0]
    status = np.where(finished, np.where(_chance(rng, odds / (1 + odds), n), charged, paid), status)
    late = np.isin(
        status, [dist.LOAN_STATUSES.index(s) for s in dist.LOAN_STATUSES if s.startswith(("Late", "In Grace"))]
    )
    plan = late & _chance(rng, dist.PAYMENT_PLAN_SHARE_OF_LATE, n)
    return status, plan


def applicant_profile(rng: np.random.Generator, year: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Type, Home Ownership and Verification Status indexes, each by year."""
    app_type = _draw_by_group(rng, dist.TYPE_BY_YEAR, year)
    home = _draw_by_group(rng, dist.HOME_BY_YEAR, year)
    verification = _draw_by_group(rng, dist.VERIFICATION_BY_YEAR, year)
    return app_type, home, verification


def incomes(
    rng: np.random.Generator, year: np.ndarray, home: np.ndarray, app_type: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Annual Inc, Annual Inc Joint (NaN unless a joint application) and a standardised
    log-income score that later columns use to stay correlated with income."""
    n = year.shape[0]
    t = rng.standard_t(dist.INCOME_T_DF, size=n)
    log_inc = (
        dist.INCOME_LOG_MEDIAN
        + dist.INCOME_LOG_DRIFT_PER_YEAR * year
        + dist.INCOME_LOG_SHIFT_BY_HOME[home]
        + np.where(np.isin(app_type, dist.JOINT_TYPES), dist.INCOME_LOG_SHIFT_JOINT, 0.0)
        + dist.INCOME_LOG_SCALE * t
    )
    income = np.exp(log_inc) * np.where(_chance(rng, dist.INCOME_EXTRA_ZERO_SHARE, n), 10.0, 1.0)
    income = np.clip(income, dist.INCOME_MIN, dist.INCOME_MAX)
    income = _round_mixed(rng, income, dist.INCOME_ROUNDING)
    partner = np.exp(rng.normal(dist.PARTNER_LOG_MEDIAN, dist.PARTNER_LOG_SCALE, size=n))
    partner = np.where(_chance(rng, dist.PARTNER_ZERO_SHARE, n), 0.0, partner)
    joint = _round_mixed(rng, income + partner, dist.INCOME_ROUNDING)
    joint = np.where(np.isin(app_type, dist.JOINT_TYPES), np.maximum(joint, income), np.nan)
    score = (np.log(income) - dist.INCOME_LOG_MEDIAN) / dist.INCOME_LOG_SCALE  # ~t(7): heavy tails, clipped
    return income, joint, np.clip(score, -4, 4)


def loan_amounts(rng: np.random.Generator, sixty: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Loan Amount by term, correlated with income, rounded, within the platform limits."""
    mean, sd = dist.LOAN_LOG_BY_TERM[sixty.astype(int), 0], dist.LOAN_LOG_BY_TERM[sixty.astype(int), 1]
    noise = rng.standard_normal(sixty.shape[0])
    z = dist.LOAN_INCOME_CORR * score / dist.INCOME_SCORE_SD + np.sqrt(1 - dist.LOAN_INCOME_CORR**2) * noise
    amount = np.exp(mean + sd * z)
    amount = _round_mixed(rng, np.clip(amount, dist.LOAN_MIN, dist.LOAN_MAX), dist.LOAN_ROUNDING)
    return np.clip(amount, dist.LOAN_MIN, dist.LOAN_MAX)


def balances(rng: np.random.Generator, home: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Avg Cur Bal and Tot Cur Bal (whole dollars): total by home ownership and income,
    average = total / number of open accounts."""
    n = home.shape[0]
    median, sd, low_share = (dist.TOTAL_BAL_LOG_BY_HOME[home, k] for k in range(3))
    capped = np.clip(score, -dist.TOTAL_BAL_INCOME_SCORE_CAP, dist.TOTAL_BAL_INCOME_SCORE_CAP)
    income_term = dist.TOTAL_BAL_INCOME_SLOPE * dist.INCOME_LOG_SCALE * capped
    log_total = median + income_term + sd * rng.standard_normal(n)
    low_tail = _chance(rng, low_share, n)
    log_total -= np.where(low_tail, rng.exponential(dist.TOTAL_BAL_LOW_TAIL_MEAN, size=n), 0.0)
    total = np.round(np.clip(np.exp(log_total), dist.TOTAL_BAL_MIN, dist.TOTAL_BAL_MAX))
    mean_accounts = dist.ACCOUNTS_NB_MEAN * np.exp(
        dist.ACCOUNTS_BAL_ELASTICITY * (np.log(total) - dist.ACCOUNTS_ANCHOR_LOG_BAL)
    )
    accounts = 1 + rng.negative_binomial(dist.ACCOUNTS_NB_R, dist.ACCOUNTS_NB_R / (dist.ACCOUNTS_NB_R + mean_accounts))
    accounts = np.maximum(accounts, np.ceil(total / dist.AVG_BAL_MAX))
    average = np.round(total / accounts)
    return average, total


def geography(rng: np.random.Generator, n: int) -> tuple[pa.Array, pa.Array]:
    """Addr State and Zip Code (`NNNxx`), the zip prefix mostly inside the state."""
    codes = list(dist.STATE_WEIGHTS)
    state = _draw(rng, np.array(list(dist.STATE_WEIGHTS.values())), n)
    # Dirt: a few zips come from another (random) state.
    zip_state = np.where(_chance(rng, dist.ZIP_OTHER_STATE_SHARE, n), _pick(rng, len(codes), n), state)
    # Each state's prefixes laid end to end; draw a position inside the state's span.
    prefixes = [np.concatenate([np.arange(a, b + 1) for a, b in dist.ZIP3_RANGES[c]]) for c in codes]
    start = np.cumsum([0] + [len(p) for p in prefixes[:-1]])
    size = np.array([len(p) for p in prefixes])
    flat = np.concatenate(prefixes)
    zip3 = flat[start[zip_state] + (rng.random(n) * size[zip_state]).astype(int)]
    zip_text = [f"{z:03d}xx" for z in range(1000)]
    return labels(codes, state), labels(zip_text, zip3)


def employment(rng: np.random.Generator, n: int) -> tuple[pa.Array, pa.Array]:
    """Emp Title (free text, messy) and Emp Length (missing mostly with the title)."""
    source = _draw(rng, dist.TITLE_SOURCE_WEIGHTS, n)
    head_titles = [t for t, _ in dist.HEAD_TITLES]
    head = labels(head_titles, _draw(rng, np.array([w for _, w in dist.HEAD_TITLES], float), n))
    # Common compositions: Zipf-weighted field + role ("Sales Manager", "IT Specialist").
    field_ = _draw(rng, _zipf_weights(len(dist.TITLE_FIELDS), dist.TITLE_ZIPF_EXPONENT), n)
    role = _draw(rng, _zipf_weights(len(dist.TITLE_ROLES), dist.TITLE_ZIPF_EXPONENT), n)
    common = pc.binary_join_element_wise(labels(dist.TITLE_FIELDS, field_), labels(dist.TITLE_ROLES, role), " ")
    # Rare compositions: seniority + uniform field + uniform role + level: mostly one-offs.
    rare = pc.binary_join_element_wise(
        labels(dist.TITLE_SENIORITY, _pick(rng, len(dist.TITLE_SENIORITY), n)),
        labels(dist.TITLE_FIELDS, _pick(rng, len(dist.TITLE_FIELDS), n)),
        pa.array([" "] * n, pa.string()),
        labels(dist.TITLE_ROLES, _pick(rng, len(dist.TITLE_ROLES), n)),
        labels(dist.TITLE_LEVELS, _pick(rng, len(dist.TITLE_LEVELS), n)),
        "",
    )
    # Employer names: two or three syllables + an industry word ("Valmar Logistics").
    syl = [labels(dist.COMPANY_SYLLABLES, _pick(rng, len(dist.COMPANY_SYLLABLES), n)) for _ in range(3)]
    third = pc.if_else(pa.array(_chance(rng, 0.4, n)), syl[2], pa.array([""] * n, pa.string()))
    word = pc.utf8_capitalize(pc.binary_join_element_wise(syl[0], syl[1], third, ""))
    company = pc.binary_join_element_wise(word, labels(dist.COMPANY_KINDS, _pick(rng, len(dist.COMPANY_KINDS), n)), " ")
    title = head
    for code, arr in ((1, common), (2, rare), (3, company)):
        title = pc.if_else(pa.array(source == code), arr, title)
    title = drop_one_letter(rng, title, (source > 0) & (_chance(rng, dist.TITLE_TYPO_SHARE, n)))
    title = case_variants(title, _draw(rng, dist.TITLE_CASE_WEIGHTS, n))
    title = pad(title, _chance(rng, dist.TITLE_LEADING_SPACE, n), _chance(rng, dist.TITLE_TRAILING_SPACE, n))
    no_title = _chance(rng, dist.EMP_TITLE_MISSING, n)
    title = pc.if_else(pa.array(no_title), pa.scalar(None, pa.string()), title)

    no_length = rng.random(n) < np.where(
        no_title, dist.EMP_LENGTH_MISSING_IF_NO_TITLE, dist.EMP_LENGTH_MISSING_IF_TITLE
    )
    length = labels(dist.EMP_LENGTHS, _draw(rng, dist.EMP_LENGTH_WEIGHTS, n), missing=no_length)
    return title, length


def purposes_and_descriptions(rng: np.random.Generator, year: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Purpose (13 snake_case values) and Description (standard title, typed text, or null)."""
    n = year.shape[0]
    purpose = _draw(rng, dist.PURPOSE_WEIGHTS, n)
    standard = labels([dist.STANDARD_DESCRIPTION[p] for p in dist.PURPOSES], purpose)

    # Typed text: a purpose phrase (or a generic one), with an optional prefix and suffix.
    phrases = [dist.FREE_DESCRIPTION_PHRASES[p] for p in dist.PURPOSES]
    flat = [s for group in phrases for s in group] + list(dist.GENERIC_DESCRIPTION_PHRASES)
    start = np.cumsum([0] + [len(g) for g in phrases[:-1]])
    size = np.array([len(g) for g in phrases])
    own = start[purpose] + (rng.random(n) * size[purpose]).astype(int)
    generic = len(flat) - len(dist.GENERIC_DESCRIPTION_PHRASES) + _pick(rng, len(dist.GENERIC_DESCRIPTION_PHRASES), n)
    phrase = np.where(_chance(rng, dist.DESCRIPTION_TYPED_GENERIC, n), generic, own)
    typed = pc.binary_join_element_wise(
        labels(dist.DESCRIPTION_PREFIXES, _pick(rng, len(dist.DESCRIPTION_PREFIXES), n)),
        labels(flat, phrase),
        labels(dist.DESCRIPTION_SUFFIXES, _pick(rng, len(dist.DESCRIPTION_SUFFIXES), n)),
        "",
    )
    typed = case_variants(typed, _draw(rng, dist.DESCRIPTION_CASE_WEIGHTS, n))
    typed = pad(typed, np.zeros(n, bool), _chance(rng, dist.DESCRIPTION_TRAILING_SPACE_OF_TYPED, n))

    u = rng.random(n)
    is_typed = u < dist.DESCRIPTION_STYLE_BY_YEAR[year, 0]
    is_missing = (~is_typed) & (_chance(rng, dist.DESCRIPTION_STYLE_BY_YEAR[year, 1], n))
    description = pc.if_else(pa.array(is_typed), typed, standard)
    description = pc.if_else(pa.array(is_missing), pa.scalar(None, pa.string()), description)
    return labels(dist.PURPOSES, purpose), description


def customer_ids(rng: np.random.Generator, n: int) -> pa.Array:
    """Opaque ids shaped like the real ones: base64 of the text repr of 32 random bytes
    (b'\\x93j...'), so lengths vary (84..168 chars) and the alphabet is base64's."""
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8).tobytes()
    return pa.array(
        [base64.b64encode(repr(raw[i : i + 32]).encode()).decode() for i in range(0, 32 * n, 32)],
        pa.string(),
    )
