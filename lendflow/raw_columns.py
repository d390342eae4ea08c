"""The raw layer, declared once: the 24 loan columns and the raw tables both engines hold.

The 24 raw columns are named exactly as loans arrive (spaces and capitals kept); each carries
the snake_case name dbt's staging gives it and the type of the source files (the generator
writes them). The raw layer stores every value untouched, as text; dbt renames and casts.

The raw tables (loans with their lineage, the landed files, the rejected lines, the Kafka
events) are declared here with engine-neutral types, and each engine's DDL is generated from
that declaration: PostgreSQL's by lendflow/raw_tables.py, Spark staging's by
lendflow/spark_raw_tables.py. dbt cannot import Python, so its column macro
(dbt_project/macros/loans/raw_loan_columns.sql) is checked against this list by a unit test.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class RawColumn:
    name: str  # as the files and messages name it
    snake_name: str  # as dbt's staging names it
    arrow_type: pa.DataType  # as the source files type it


LOAN_COLUMNS: tuple[RawColumn, ...] = (
    RawColumn("Customer Id", "customer_id", pa.string()),
    RawColumn("Emp Title", "emp_title", pa.string()),
    RawColumn("Emp Length", "emp_length", pa.string()),
    RawColumn("Home Ownership", "home_ownership", pa.string()),
    RawColumn("Annual Inc", "annual_inc", pa.float64()),
    RawColumn("Annual Inc Joint", "annual_inc_joint", pa.float64()),
    RawColumn("Verification Status", "verification_status", pa.string()),
    RawColumn("Zip Code", "zip_code", pa.string()),
    RawColumn("Addr State", "addr_state", pa.string()),
    RawColumn("Avg Cur Bal", "avg_cur_bal", pa.float64()),
    RawColumn("Tot Cur Bal", "tot_cur_bal", pa.float64()),
    RawColumn("Loan Id", "loan_id", pa.int64()),
    RawColumn("Loan Status", "loan_status", pa.string()),
    RawColumn("Loan Amount", "loan_amount", pa.float64()),
    RawColumn("State", "state", pa.string()),
    RawColumn("Funded Amount", "funded_amount", pa.float64()),
    RawColumn("Term", "term", pa.string()),
    RawColumn("Int Rate", "int_rate", pa.float64()),
    RawColumn("Grade", "grade", pa.int64()),
    RawColumn("Issue Date", "issue_date", pa.string()),
    RawColumn("Pymnt Plan", "pymnt_plan", pa.bool_()),
    # "type" is a reserved word in too many places to be a column name downstream.
    RawColumn("Type", "loan_type", pa.string()),
    RawColumn("Purpose", "purpose", pa.string()),
    RawColumn("Description", "description", pa.string()),
)

RAW_SCHEMA = pa.schema([(column.name, column.arrow_type) for column in LOAN_COLUMNS])
RAW_COLUMNS: tuple[str, ...] = tuple(RAW_SCHEMA.names)
RAW_NAME_OF: dict[str, str] = {column.snake_name: column.name for column in LOAN_COLUMNS}
"""snake_case name -> raw name, e.g. RAW_NAME_OF["emp_title"] == "Emp Title"."""
NUMERIC_COLUMNS: tuple[str, ...] = tuple(
    column.snake_name
    for column in LOAN_COLUMNS
    if pa.types.is_integer(column.arrow_type) or pa.types.is_floating(column.arrow_type)
)
"""The snake_case names of the columns the source files type as numbers."""


# --- the raw tables ------------------------------------------------------------
# Engine-neutral types; each engine spells them its own way (raw_tables.py, spark_raw_tables.py).
TEXT, BIGINT, INTEGER, UUID, TIMESTAMP, BYTES = "text", "bigint", "integer", "uuid", "timestamp", "bytes"

RAW_SCHEMA_NAME = "raw"


@dataclass(frozen=True)
class TableColumn:
    name: str
    kind: str  # one of the engine-neutral types above
    required: bool = False  # PostgreSQL: not null (Spark tables are loaded whole by one statement)
    # The value comes from a setting of the landing's transaction when the writer leaves it out
    # (PostgreSQL: see lendflow/raw_tables.py); the setting's name.
    from_setting: str | None = None
    stamped: bool = False  # defaults to the time of the write


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: tuple[TableColumn, ...]
    primary_key: tuple[str, ...] = ()
    # Spark: the table is partitioned by this column (the file's checksum), so landing a file
    # again overwrites its own partition; Spark keeps a partition column last.
    partition_column: str | None = None

    @property
    def qualified_name(self) -> str:
        return f"{RAW_SCHEMA_NAME}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


LINEAGE_COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("_source_file", TEXT, required=True, from_setting="lendflow.source_file"),
    TableColumn("_file_sha256", TEXT, required=True, from_setting="lendflow.file_sha256"),
    TableColumn("_row_number", BIGINT, required=True),
    TableColumn("_batch_id", UUID, required=True, from_setting="lendflow.batch_id"),
    TableColumn("_landed_at", TIMESTAMP, required=True, stamped=True),
)

LOANS = RawTable(
    "loans",
    tuple(TableColumn(name, TEXT) for name in RAW_COLUMNS) + LINEAGE_COLUMNS,
    partition_column="_file_sha256",
)
LANDED_FILES = RawTable(
    "landed_files",
    (
        TableColumn("file_sha256", TEXT, required=True),
        TableColumn("source_file", TEXT, required=True),
        TableColumn("batch_id", UUID, required=True),
        TableColumn("rows_read", BIGINT, required=True),
        TableColumn("rows_landed", BIGINT, required=True),
        TableColumn("rows_rejected", BIGINT, required=True),
        TableColumn("landed_at", TIMESTAMP, required=True, stamped=True),
    ),
    primary_key=("file_sha256",),
    partition_column="file_sha256",
)
REJECTED_ROWS = RawTable(
    "rejected_rows",
    (
        TableColumn("source_file", TEXT, required=True),
        TableColumn("file_sha256", TEXT, required=True),
        TableColumn("line_number", BIGINT, required=True),
        TableColumn("raw_text", TEXT, required=True),
        TableColumn("reason", TEXT, required=True),
        TableColumn("batch_id", UUID, required=True),
        TableColumn("rejected_at", TIMESTAMP, required=True, stamped=True),
    ),
    partition_column="file_sha256",
)
# Kafka messages exactly as they arrived: the value need not be valid JSON. Text cannot hold
# every byte string: when a key or value is not valid UTF-8 (or holds NUL), message_key /
# message_value carry a readable \xNN rendering and the *_bytes columns the exact bytes.
# The (topic, partition, offset) key is what makes redelivery after a crash land nothing twice.
LOAN_EVENTS = RawTable(
    "loan_events",
    (
        TableColumn("topic", TEXT, required=True),
        TableColumn("kafka_partition", INTEGER, required=True),
        TableColumn("kafka_offset", BIGINT, required=True),
        TableColumn("message_key", TEXT),
        TableColumn("message_key_bytes", BYTES),
        TableColumn("message_value", TEXT),
        TableColumn("message_value_bytes", BYTES),
        TableColumn("message_timestamp", TIMESTAMP),
        TableColumn("_landed_at", TIMESTAMP, required=True, stamped=True),
    ),
    primary_key=("topic", "kafka_partition", "kafka_offset"),
)

RAW_TABLES: tuple[RawTable, ...] = (LOANS, LANDED_FILES, REJECTED_ROWS, LOAN_EVENTS)
