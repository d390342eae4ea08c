"""One declaration of the raw layer (lendflow.raw_columns), and every spelling made from it."""

from __future__ import annotations

import re

import jinja2
import pytest

from lendflow import raw_tables as postgres
from lendflow import spark_raw_tables as spark
from lendflow.raw_columns import LOAN_COLUMNS, NUMERIC_COLUMNS, RAW_TABLES, RawTable
from lendflow.settings import DBT_PROJECT_DIR

MACROS = DBT_PROJECT_DIR / "macros" / "loans" / "raw_loan_columns.sql"


class _Returned(Exception):
    """dbt's `return()` inside a macro: what it returns, carried out of the template."""

    def __init__(self, value: object) -> None:
        self.value = value


def _dbt_macro_value(name: str) -> object:
    """Call a macro of raw_loan_columns.sql as dbt would, with `return` ending the call."""

    def dbt_return(value: object) -> None:
        raise _Returned(value)

    environment = jinja2.Environment(extensions=["jinja2.ext.do"])
    module = environment.from_string(MACROS.read_text(), globals={"return": dbt_return}).module
    try:
        getattr(module, name)()
    except _Returned as returned:
        return returned.value
    raise AssertionError(f"{name} returned nothing")


def test_the_dbt_macro_lists_the_raw_columns_and_their_snake_names_in_order() -> None:
    declared = [(column.name, column.snake_name) for column in LOAN_COLUMNS]
    assert [tuple(pair) for pair in _dbt_macro_value("raw_loan_columns")] == declared  # type: ignore[attr-defined]


def test_the_dbt_macro_lists_the_numeric_columns_the_files_type_as_numbers() -> None:
    assert sorted(_dbt_macro_value("numeric_loan_columns")) == sorted(NUMERIC_COLUMNS)  # type: ignore[type-var]


def _postgres_columns(table: RawTable) -> list[str]:
    ddl = postgres.create_table(table).as_string(None)
    body = ddl[ddl.index("(") + 1 : ddl.rindex(")")]
    return [m.group(1) for m in re.finditer(r'(?:^|, )"([^"]+)" \w+', body)]


def _spark_columns(table: RawTable) -> list[str]:
    ddl = spark.create_table(table)
    body = ddl[ddl.index("(") + 1 : ddl.index(") using")]
    return [m.group(1) for m in re.finditer(r"`([^`]+)` \w+", body)]


@pytest.mark.parametrize("table", RAW_TABLES, ids=lambda table: table.name)
def test_both_engines_create_each_raw_table_with_the_declared_columns(table: RawTable) -> None:
    assert _postgres_columns(table) == list(table.column_names)
    # Spark keeps a partition column last; the rest in the declared order.
    expected_spark = [name for name in table.column_names if name != table.partition_column]
    expected_spark += [table.partition_column] if table.partition_column else []
    assert _spark_columns(table) == expected_spark


def test_every_raw_column_lands_as_text_on_both_engines() -> None:
    loans = next(table for table in RAW_TABLES if table.name == "loans")
    ddl = postgres.create_table(loans).as_string(None)
    assert all(f'"{column.name}" text,' in ddl for column in LOAN_COLUMNS)
    assert all(f"`{column.name}` string," in spark.create_table(loans) for column in LOAN_COLUMNS)
