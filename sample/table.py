"""Rows in blocks, chunks and tables: the assembly of the column draws into raw loan rows.

Rows are produced in fixed blocks of ``BLOCK_ROWS``, each with its own random stream seeded from
``(seed, block number)``. The output therefore does not depend on ``chunk_size`` (chunked output
equals unchunked output), a block never needs the state of another, and memory only holds one
chunk at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from lendflow.raw_columns import RAW_COLUMNS, RAW_SCHEMA
from sample import distributions as dist
from sample.columns import (
    applicant_profile,
    balances,
    customer_ids,
    employment,
    geography,
    grades_and_rates,
    incomes,
    issue_dates,
    labels,
    loan_amounts,
    loan_statuses,
    purposes_and_descriptions,
)

# Rows per independently seeded block. Changing it changes every generated value, so it is a
# constant of the format, not a tuning knob.
BLOCK_ROWS = 8_192
# Loan ids advance by this stride with a random offset inside it: ids are unique, have gaps
# (like a ~10% draw of a larger book) and 27k rows end near the real ~270k maximum.
LOAN_ID_STRIDE = 10


def loan_ids(rng: np.random.Generator, first_row: int, n: int, first_loan_id: int) -> np.ndarray:
    """Unique, gappy ids: row slot k gets first_loan_id + STRIDE*k + jitter, and the slots are
    shuffled within the block so files are not sorted by id (as real extracts are not)."""
    order = rng.permutation(BLOCK_ROWS)[:n]
    slot = np.argsort(np.argsort(order))  # a permutation of 0..n-1, even for a partial block
    jitter = rng.integers(0, LOAN_ID_STRIDE, size=n)
    return first_loan_id + LOAN_ID_STRIDE * (first_row + slot) + jitter


def next_loan_id(rows: int, first_loan_id: int = 1) -> int:
    """Smallest loan id that `rows` rows starting at `first_loan_id` can never use."""
    return first_loan_id + LOAN_ID_STRIDE * rows


def _block(seed: int, block_no: int, keep: int, first_loan_id: int) -> pa.Table:
    """Rows of one block. A full block is always drawn (so a block's values do not depend on
    how many rows are kept), then the first `keep` rows are returned."""
    rng = np.random.default_rng([seed, block_no])
    n = BLOCK_ROWS
    year, issue_text = issue_dates(rng, n)
    grade, letter, sixty, rate = grades_and_rates(rng, year)
    status, plan = loan_statuses(rng, year, letter)
    app_type, home, verification = applicant_profile(rng, year)
    income, joint, score = incomes(rng, year, home, app_type)
    amount = loan_amounts(rng, sixty, score)
    average, total = balances(rng, home, score)
    state, zip_code = geography(rng, n)
    title, length = employment(rng, n)
    purpose, description = purposes_and_descriptions(rng, year)
    customer = customer_ids(rng, n)
    ids = loan_ids(rng, block_no * BLOCK_ROWS, keep, first_loan_id)

    def num(values: np.ndarray) -> pa.Array:
        return pa.array(values, pa.float64(), mask=np.isnan(values))  # NaN -> null

    columns = {
        "Customer Id": customer,
        "Emp Title": title,
        "Emp Length": length,
        "Home Ownership": labels(dist.HOME_OWNERSHIP, home),
        "Annual Inc": num(income),
        "Annual Inc Joint": num(joint),
        "Verification Status": labels(dist.VERIFICATION, verification),
        "Zip Code": zip_code,
        "Addr State": state,
        "Avg Cur Bal": num(average),
        "Tot Cur Bal": num(total),
        "Loan Id": None,
        "Loan Status": labels(dist.LOAN_STATUSES, status),
        "Loan Amount": num(amount),
        "State": state,
        "Funded Amount": num(amount),
        "Term": labels(dist.TERMS, sixty.astype(int)),
        "Int Rate": num(rate),
        "Grade": pa.array(grade, pa.int64()),
        "Issue Date": issue_text,
        "Pymnt Plan": pa.array(plan, pa.bool_()),
        "Type": labels(dist.TYPES, app_type),
        "Purpose": purpose,
        "Description": description,
    }
    arrays = [pa.array(ids, pa.int64()) if name == "Loan Id" else columns[name].slice(0, keep) for name in RAW_COLUMNS]
    return pa.Table.from_arrays(arrays, schema=RAW_SCHEMA)


def generate_chunks(rows: int, seed: int, first_loan_id: int = 1, chunk_size: int = 100_000) -> Iterator[pa.Table]:
    """Yield `rows` raw loan rows as pyarrow Tables of at most `chunk_size` rows.

    The concatenated output depends only on (rows, seed, first_loan_id), never on chunk_size.
    Loan ids lie in [first_loan_id, next_loan_id(rows, first_loan_id)).
    """
    if rows < 0:
        raise ValueError("rows must be >= 0")
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    pending: list[pa.Table] = []
    pending_rows = 0
    for block_no in range(-(-rows // BLOCK_ROWS)):
        keep = min(BLOCK_ROWS, rows - block_no * BLOCK_ROWS)
        pending.append(_block(seed, block_no, keep, first_loan_id))
        pending_rows += keep
        while pending_rows >= chunk_size:
            table = pa.concat_tables(pending)
            yield table.slice(0, chunk_size).combine_chunks()
            rest = table.slice(chunk_size)
            pending, pending_rows = [rest], rest.num_rows
    if pending_rows:
        yield pa.concat_tables(pending).combine_chunks()


def generate_table(rows: int, seed: int, first_loan_id: int = 1) -> pa.Table:
    """All rows in one Table (convenient for tests and small samples)."""
    chunks = list(generate_chunks(rows, seed, first_loan_id))
    return pa.concat_tables(chunks) if chunks else RAW_SCHEMA.empty_table()
