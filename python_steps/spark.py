"""The Python steps (python_steps/) for the spark target: the same pure functions, fed from
Spark staging, their tables written to Spark's `python_steps` schema (the dbt source).

Inputs are read in the order PostgreSQL's `lendflow python-steps` meets them (files in landing
order, rows in file order, then the stream by partition and offset), so the fitted numbers are
the same on both engines for the same input.
"""

from __future__ import annotations

import logging
from itertools import chain
from typing import TYPE_CHECKING

from lendflow.spark_raw_tables import ensure_raw_tables
from python_steps.inputs import INPUT_COLUMNS, LandedValues, file_rows, fold_landed_values, stream_rows
from python_steps.run import SCHEMA, StepsReport
from python_steps.titles import canonical_titles
from python_steps.transforms import can_fit, fit_yeo_johnson

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def read_inputs(spark: SparkSession) -> LandedValues:
    """Title counts and balance values of every record in Spark staging, files and stream."""
    columns = ", ".join(f"`{name}`" for name in INPUT_COLUMNS)
    files = spark.sql(f"select {columns} from raw.loans order by _landed_at, _file_sha256, _row_number")
    stream = spark.sql("select message_value from raw.loan_events order by topic, kafka_partition, kafka_offset")
    rows = chain(
        file_rows(tuple(row) for row in files.toLocalIterator()),
        stream_rows(value for (value,) in stream.toLocalIterator()),
    )
    return fold_landed_values(rows, with_balances=True)


def run(spark: SparkSession) -> StepsReport:
    """Fit both steps on Spark staging and replace python_steps.emp_title_map / fitted_transforms."""
    ensure_raw_tables(spark)
    landed = read_inputs(spark)
    mappings = canonical_titles(landed.titles)
    parameters = [
        fit_yeo_johnson(column, values) for column, values in landed.balances.items() if can_fit(column, values)
    ]
    spark.sql(f"create schema if not exists {SCHEMA}")
    title_rows = [(m.raw_title, m.canonical_title, m.cluster_key) for m in mappings]
    (
        spark.createDataFrame(title_rows, "raw_title string, canonical_title string, cluster_key string")
        .selectExpr("*", "current_timestamp() as fitted_at")
        .write.mode("overwrite")
        .format("parquet")
        .saveAsTable(f"{SCHEMA}.emp_title_map")
    )
    parameter_rows = [(p.column_name, p.method, p.parameter_name, p.parameter_value, p.fitted_rows) for p in parameters]
    (
        spark.createDataFrame(
            parameter_rows,
            "column_name string, method string, parameter_name string, parameter_value double, fitted_rows bigint",
        )
        .selectExpr("*", "current_timestamp() as fitted_at")
        .write.mode("overwrite")
        .format("parquet")
        .saveAsTable(f"{SCHEMA}.fitted_transforms")
    )
    report = StepsReport(len(mappings), len({m.canonical_title for m in mappings}), parameters)
    log.info("python steps on Spark: %s", report.summary())
    return report
