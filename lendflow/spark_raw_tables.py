"""Spark staging's raw tables, generated from their declaration in lendflow.raw_columns.

The same tables as PostgreSQL's (lendflow.raw_tables), as Parquet tables in the Hive
metastore, so dbt's sources resolve on the spark target exactly as on the postgres one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lendflow.raw_columns import (
    BIGINT,
    BYTES,
    INTEGER,
    RAW_SCHEMA_NAME,
    RAW_TABLES,
    TEXT,
    TIMESTAMP,
    UUID,
    RawTable,
    TableColumn,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_TYPES = {
    TEXT: "string",
    BIGINT: "bigint",
    INTEGER: "int",
    UUID: "string",
    TIMESTAMP: "timestamp",
    BYTES: "binary",
}


def quoted(name: str) -> str:
    """A Spark SQL identifier: back-ticks, since raw names have spaces (ANSI double quotes are off)."""
    return "`" + name.replace("`", "``") + "`"


def spark_columns(table: RawTable) -> tuple[TableColumn, ...]:
    """The table's columns in Spark's order: a partition column moves to the end, where Spark keeps it."""
    return tuple(c for c in table.columns if c.name != table.partition_column) + tuple(
        c for c in table.columns if c.name == table.partition_column
    )


def create_table(table: RawTable) -> str:
    """`create table if not exists` for one raw table in Spark staging (Parquet), from its declaration."""
    columns = ", ".join(f"{quoted(c.name)} {SPARK_TYPES[c.kind]}" for c in spark_columns(table))
    partitioned = f" partitioned by ({quoted(table.partition_column)})" if table.partition_column else ""
    return f"create table if not exists {table.qualified_name} ({columns}) using parquet{partitioned}"


def ensure_raw_tables(spark: SparkSession) -> None:
    """Create Spark's raw schema and tables if missing (idempotent)."""
    spark.sql(f"create schema if not exists {RAW_SCHEMA_NAME}")
    for table in RAW_TABLES:
        spark.sql(create_table(table))
