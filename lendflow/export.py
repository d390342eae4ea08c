"""Export the cleaned table and the lookup table (marts) to CSV and Parquet files.

PostgreSQL writes the CSV itself (COPY, exact text of every value); pyarrow then reads that
CSV with the column types taken from the catalog and writes Parquet, so both files hold the
same values and the Parquet file keeps the warehouse's types.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import sql

from lendflow.db import connect
from lendflow.settings import Settings

EXPORTED_TABLES = ("fct_loans", "lookup_values")
SCHEMA = "marts"

# PostgreSQL type (information_schema.data_type) -> Arrow type.
ARROW_TYPES: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "double precision": pa.float64(),
    "real": pa.float32(),
    "numeric": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "text": pa.string(),
    "character varying": pa.string(),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "timestamp without time zone": pa.timestamp("us"),
}


@dataclass(frozen=True)
class ExportedTable:
    name: str
    rows: int
    csv_path: Path
    parquet_path: Path


def arrow_schema(columns: list[tuple[str, str]]) -> pa.Schema:
    """The Arrow schema of a table from its (column, PostgreSQL type) pairs; unknown types as text."""
    return pa.schema([(name, ARROW_TYPES.get(kind, pa.string())) for name, kind in columns])


def _columns(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = %s and table_name = %s order by ordinal_position",
        (SCHEMA, table),
    ).fetchall()
    if not rows:
        raise LookupError(f"{SCHEMA}.{table} does not exist: run the pipeline (`lendflow run`) first")
    return [(str(name), str(kind)) for name, kind in rows]


def export_table(conn: psycopg.Connection, table: str, out_dir: Path) -> ExportedTable:
    columns = _columns(conn, table)
    csv_path = out_dir / f"{table}.csv"
    parquet_path = out_dir / f"{table}.parquet"
    # UTC, so timestamps in the CSV parse back the same everywhere.
    conn.execute("set local timezone = 'UTC'")
    query = sql.SQL("copy (select * from {}.{}) to stdout with (format csv, header true)").format(
        sql.Identifier(SCHEMA), sql.Identifier(table)
    )
    with csv_path.open("wb") as out, conn.cursor().copy(query) as copy:
        for chunk in copy:
            out.write(chunk)
    schema = arrow_schema(columns)
    arrow_table = pacsv.read_csv(
        csv_path,
        convert_options=pacsv.ConvertOptions(
            column_types=schema,
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    pq.write_table(arrow_table, parquet_path)
    return ExportedTable(table, arrow_table.num_rows, csv_path, parquet_path)


def export(settings: Settings, out_dir: Path) -> list[ExportedTable]:
    """Write <table>.csv and <table>.parquet for fct_loans and lookup_values into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with connect(settings) as conn:
        return [export_table(conn, table, out_dir) for table in EXPORTED_TABLES]
