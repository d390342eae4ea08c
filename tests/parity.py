"""Engine parity: every mart on PostgreSQL against the same mart read from Spark, row by row.

The rules every comparison of the suite shares: which columns may differ between two landings of
one input (when, which run), the row key of each mart, and how a mart without a key is compared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from lendflow.settings import Settings
from spark_jobs.compare import normalise, row_differences

# Columns that legitimately differ between two landings of the same input (when, which run).
LINEAGE_TYPES = {"timestamp with time zone", "timestamp without time zone", "uuid"}
LINEAGE_NAMES = ("batch_id", "landed_at", "fitted_at", "invocation", "run_started", "generated_at")
# Row keys of the marts (others are compared as sorted row lists).
MART_KEYS: dict[str, tuple[str, ...]] = {
    "fct_loans": ("loan_id",),
    "dim_states": ("state_code",),
    "lookup_values": ("column_name", "kind", "context", "original_value"),
    "rpt_defaults_by_emp_length_income": ("emp_length", "income_band"),
    "rpt_funding_gap_by_grade": ("letter_grade",),
    "rpt_verified_amount_by_state": ("addr_state",),
    "rpt_issue_gap_by_grade": ("letter_grade",),
    "rpt_amount_change_by_state_grade": ("addr_state", "letter_grade"),
}

TableReader = Callable[[str], list[dict[str, Any]]]


def pg_rows(settings: Settings, query: str) -> list[dict[str, Any]]:
    with psycopg.connect(settings.pg_dsn) as conn, conn.cursor() as cursor:
        cursor.execute(query)
        names = [d.name for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def comparable_columns(settings: Settings, table: str) -> list[str]:
    """The columns of a PostgreSQL mart both engines must agree on (not the lineage ones)."""
    columns = pg_rows(
        settings,
        "select column_name, data_type from information_schema.columns"
        f" where table_schema = 'marts' and table_name = '{table}' order by ordinal_position",
    )
    return [
        c["column_name"]
        for c in columns
        if c["data_type"] not in LINEAGE_TYPES and not any(n in c["column_name"] for n in LINEAGE_NAMES)
    ]


def _sorted_rows(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    def sort_key(row: dict[str, Any]) -> tuple[str, ...]:
        return tuple(repr(normalise(row[c])) if not isinstance(normalise(row[c]), float) else "" for c in columns)

    return sorted(rows, key=sort_key)


def spark_marts(manifest_path: Path) -> set[str]:
    """The mart tables of a Spark build (its dbt manifest): not the tables a hook keeps for one engine."""
    manifest = json.loads(manifest_path.read_text())
    return {
        node["alias"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["schema"] == "marts"
        and node["config"]["materialized"] != "ephemeral"
    }


def marts_differ(pg: Settings, manifest_path: Path, read: TableReader) -> dict[str, list[str]]:
    """Every mart of the Spark build whose manifest is at `manifest_path`, on PostgreSQL and as
    `read` reads it from Spark, row by row; the differences by table (empty: equal)."""
    marts = spark_marts(manifest_path)
    assert "fct_loans" in marts
    problems: dict[str, list[str]] = {}
    for table in sorted(marts):
        columns = comparable_columns(pg, table)
        pg_table = pg_rows(pg, f"select * from marts.{table}")
        spark_table = read(f"marts.{table}")
        if len(pg_table) != len(spark_table):
            problems[table] = [f"{len(pg_table)} rows on PostgreSQL, {len(spark_table)} on Spark"]
            continue
        keys = MART_KEYS.get(table)
        if keys:
            found = row_differences(pg_table, spark_table, keys, [c for c in columns if c not in keys])
        else:  # no declared key: the same rows in the same sorted order
            ordinal = [{**r, "_position": i} for i, r in enumerate(_sorted_rows(pg_table, columns))]
            spark_ordinal = [{**r, "_position": i} for i, r in enumerate(_sorted_rows(spark_table, columns))]
            found = row_differences(ordinal, spark_ordinal, ("_position",), columns)
        if found:
            problems[table] = found
    return problems
