"""The expectation suites: what the raw tables and the marts must satisfy before anyone reads them.

Each suite is data (rows + expectations), built by a pure function, so a unit test can read
it and the checkpoint module runs it. The raw suites guard the landing of the run's own
batches (orchestration/quality/scope.py); the marts suites guard what the dashboard reads
and the share of each batch that dbt quarantined.

The gate policy. What a row rule absorbs (dbt quarantines the record with its reason: a
number in the wrong format, a rate in percent, a value out of range) is *reported*: such
expectations have severity "warning", so they show in the results and Data Docs and fail no
run. A run fails (severity "critical") only for what no row rule absorbs: a batch whose
columns are wrong, a (file, row) or (topic, partition, offset) key twice, and a batch whose
quarantined share exceeds LENDFLOW_MAX_QUARANTINED_SHARE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.metadata_types import FailureSeverity

from lendflow.raw_columns import LINEAGE_COLUMNS, RAW_COLUMNS
from orchestration.quality.scope import BatchQuarantine, RunBatches, loan_events_where, raw_loans_where

# Fails the run / reported only (see the module's docstring).
GATE = FailureSeverity.CRITICAL
REPORT = FailureSeverity.WARNING

LETTER_GRADES = ["A", "B", "C", "D", "E", "F", "G"]

# Raw values are text as they arrived. An interest rate is a fraction (0.05 .. 0.31): a value
# like "13.49" means the sender switched to percent, which would silently inflate every answer.
FRACTION_TEXT = r"^\s*0?\.[0-9]+\s*$"
INTEGER_TEXT = r"^\s*[0-9]+\s*$"

# Columns the marts' imputation promises to fill (contract of marts.fct_loans).
IMPUTED_COLUMNS = ("int_rate", "emp_title", "emp_length", "description")


@dataclass(frozen=True)
class Suite:
    name: str
    schema: str
    table: str
    expectations: tuple[Expectation, ...]
    # Columns that identify a row in failure messages (its key).
    key_columns: tuple[str, ...]
    # The rows to judge: those of the table meeting `where` (SQL that PostgreSQL and Spark both
    # read; None: the whole table), or rows computed beforehand (a pandas DataFrame).
    where: str | None = None
    rows: Any = field(default=None, compare=False)

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"


def raw_loans_suite(batches: RunBatches) -> Suite:
    """The rows of the files this run landed (none: an empty batch, which passes)."""
    lineage = [column.name for column in LINEAGE_COLUMNS]
    return Suite(
        name="raw.loans",
        schema="raw",
        table="loans",
        key_columns=("_file_sha256", "_row_number"),
        where=raw_loans_where(batches),
        expectations=(
            gxe.ExpectTableColumnsToMatchSet(column_set=[*RAW_COLUMNS, *lineage], exact_match=False, severity=GATE),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["_file_sha256", "_row_number"], severity=GATE),
            gxe.ExpectColumnValuesToNotBeNull(column="Loan Id", severity=REPORT),
            gxe.ExpectColumnValuesToMatchRegex(column="Loan Id", regex=INTEGER_TEXT, severity=REPORT),
            gxe.ExpectColumnValuesToMatchRegex(column="Int Rate", regex=FRACTION_TEXT, severity=REPORT),
            gxe.ExpectColumnValuesToMatchRegex(column="Grade", regex=INTEGER_TEXT, severity=REPORT),
        ),
    )


def raw_loan_events_suite(batches: RunBatches) -> Suite:
    """The messages this run landed, by partition and offset."""
    return Suite(
        name="raw.loan_events",
        schema="raw",
        table="loan_events",
        key_columns=("topic", "kafka_partition", "kafka_offset"),
        where=loan_events_where(batches),
        expectations=(
            gxe.ExpectTableColumnsToMatchSet(
                column_set=["topic", "kafka_partition", "kafka_offset", "message_key", "message_value", "_landed_at"],
                exact_match=False,
                severity=GATE,
            ),
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["topic", "kafka_partition", "kafka_offset"], severity=GATE
            ),
        ),
    )


def fct_loans_suite() -> Suite:
    """The whole mart: every row of it is served, whichever run brought it."""
    return Suite(
        name="marts.fct_loans",
        schema="marts",
        table="fct_loans",
        key_columns=("loan_id",),
        expectations=(
            # A warehouse whose every record so far was quarantined serves nothing, and the
            # quarantine suite names why: an empty mart is reported, not a failure of its own.
            gxe.ExpectTableRowCountToBeBetween(min_value=1, severity=REPORT),
            gxe.ExpectColumnValuesToBeUnique(column="loan_id"),
            gxe.ExpectColumnValuesToNotBeNull(column="loan_id"),
            gxe.ExpectColumnValuesToBeBetween(
                column="int_rate", min_value=0, max_value=1, strict_min=True, strict_max=True
            ),
            gxe.ExpectColumnValuesToBeBetween(column="installment", min_value=0, strict_min=True),
            gxe.ExpectColumnValuesToBeInSet(column="letter_grade", value_set=LETTER_GRADES),
            gxe.ExpectColumnValuesToNotBeNull(column="letter_grade"),
            gxe.ExpectColumnValuesToNotBeNull(column="installment"),
            *(gxe.ExpectColumnValuesToNotBeNull(column=name) for name in IMPUTED_COLUMNS),
        ),
    )


QUARANTINE_COLUMNS = ("batch", "records", "quarantined", "quarantined_share", "top_reasons")


def quarantine_rows(quarantines: Sequence[BatchQuarantine]) -> Any:
    """One row per batch of the run: its records, how many dbt quarantined, and the top reasons."""
    import pandas as pd

    rows = [(q.batch, q.records, q.quarantined, q.share, q.top_reasons()) for q in quarantines]
    frame = pd.DataFrame(rows, columns=list(QUARANTINE_COLUMNS))
    return frame.astype({"records": "int64", "quarantined": "int64", "quarantined_share": "float64"})


def quarantine_suite(quarantines: Sequence[BatchQuarantine], max_share: float) -> Suite:
    """Each batch of the run loses at most max_share of its records to quarantine.

    More than that is no longer a few bad values but a broken feed (a sender switched formats,
    a column shifted): the run fails, naming the batch and its top reasons.
    """
    return Suite(
        name="quarantined share per batch",
        schema="intermediate",
        table="int_loan_records_validated",
        key_columns=("batch", "top_reasons"),
        rows=quarantine_rows(quarantines),
        expectations=(
            gxe.ExpectColumnValuesToBeBetween(
                column="quarantined_share", min_value=0, max_value=max_share, severity=GATE
            ),
        ),
    )


def raw_suites(batches: RunBatches, with_stream: bool) -> list[Suite]:
    return [raw_loans_suite(batches), *([raw_loan_events_suite(batches)] if with_stream else [])]


def marts_suites(quarantines: Sequence[BatchQuarantine], max_share: float) -> list[Suite]:
    return [fct_loans_suite(), quarantine_suite(quarantines, max_share)]
