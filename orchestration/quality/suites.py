"""The expectation suites: what the raw tables and the marts must satisfy before anyone reads them.

Each suite is data (table + expectations), built by a pure function, so a unit test can read
it and the checkpoint module runs it. The raw suite guards the landing (the shape of what
arrived, before dbt spends time on it); the marts suite guards what the dashboard reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation

from ingestion.raw_tables import LINEAGE_COLUMNS
from lendflow.raw_columns import RAW_COLUMNS

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

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"


def raw_loans_suite() -> Suite:
    lineage = [name for name, _ in LINEAGE_COLUMNS]
    return Suite(
        name="raw.loans",
        schema="raw",
        table="loans",
        key_columns=("_file_sha256", "_row_number"),
        expectations=(
            gxe.ExpectTableColumnsToMatchSet(column_set=[*RAW_COLUMNS, *lineage], exact_match=False),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["_file_sha256", "_row_number"]),
            gxe.ExpectColumnValuesToNotBeNull(column="Loan Id"),
            gxe.ExpectColumnValuesToMatchRegex(column="Loan Id", regex=INTEGER_TEXT),
            gxe.ExpectColumnValuesToMatchRegex(column="Int Rate", regex=FRACTION_TEXT),
            gxe.ExpectColumnValuesToMatchRegex(column="Grade", regex=INTEGER_TEXT),
        ),
    )


def raw_loan_events_suite() -> Suite:
    return Suite(
        name="raw.loan_events",
        schema="raw",
        table="loan_events",
        key_columns=("topic", "kafka_partition", "kafka_offset"),
        expectations=(
            gxe.ExpectTableColumnsToMatchSet(
                column_set=["topic", "kafka_partition", "kafka_offset", "message_key", "message_value", "_landed_at"],
                exact_match=False,
            ),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["topic", "kafka_partition", "kafka_offset"]),
        ),
    )


def fct_loans_suite() -> Suite:
    return Suite(
        name="marts.fct_loans",
        schema="marts",
        table="fct_loans",
        key_columns=("loan_id",),
        expectations=(
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
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


def raw_suites(with_stream: bool) -> list[Suite]:
    return [raw_loans_suite(), *([raw_loan_events_suite()] if with_stream else [])]


def marts_suites() -> list[Suite]:
    return [fct_loans_suite()]
