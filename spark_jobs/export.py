"""The cleaned table and the lookup table out of Spark: to Parquet, and optionally over JDBC
into PostgreSQL (driver org.postgresql:postgresql from Maven Central, see services/spark.py).

Cleaned = marts.fct_loans with the Spark ML encodings added (spark_jobs/encoders.py);
lookup = the encoders' mappings (the encoding rows of marts.lookup_values).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from psycopg.conninfo import conninfo_to_dict

from lendflow.db import connect
from lendflow.settings import Settings
from spark_jobs import encoders
from spark_jobs.questions import FCT_LOANS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

JDBC_SCHEMA = "spark_exports"


@dataclass(frozen=True)
class ExportReport:
    cleaned_rows: int
    lookup_rows: int
    parquet_dir: Path
    jdbc_tables: tuple[str, ...] = ()

    def summary(self) -> str:
        where = f"{self.parquet_dir}" + (f" and PostgreSQL {', '.join(self.jdbc_tables)}" if self.jdbc_tables else "")
        return f"{self.cleaned_rows:,} cleaned loans and {self.lookup_rows:,} lookup rows written to {where}"


def jdbc_options(settings: Settings) -> dict[str, str]:
    """JDBC URL and credentials of the warehouse, from the one DSN in settings."""
    parts = conninfo_to_dict(settings.pg_dsn)
    url = f"jdbc:postgresql://{parts.get('host', '127.0.0.1')}:{parts.get('port', '5432')}/{parts['dbname']}"
    return {
        "url": url,
        "user": str(parts.get("user", "")),
        "password": str(parts.get("password", "")),
        "driver": "org.postgresql.Driver",
    }


def cleaned_and_lookup(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    """The cleaned loans with ML encodings, and the encoders' lookup table."""
    model = encoders.fit_pipeline(spark)
    cleaned = encoders.encode(model, spark.table(FCT_LOANS))
    # Vectors have no PostgreSQL type: the one-hot vectors leave as arrays of 0/1.
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    for column in encoders.ONE_HOT_CATEGORIES:
        cleaned = cleaned.withColumn(
            f"{column}_one_hot", vector_to_array(F.col(f"{column}_one_hot")).cast("array<int>")
        )
    return cleaned, encoders.lookup_table(spark, model)


def export(spark: SparkSession, settings: Settings, out_dir: Path, *, jdbc: bool = False) -> ExportReport:
    """Write cleaned_loans.parquet and lookup_values.parquet under out_dir (and to PostgreSQL with jdbc)."""
    cleaned, lookup = cleaned_and_lookup(spark)
    out_dir.mkdir(parents=True, exist_ok=True)
    cleaned.write.mode("overwrite").parquet(str(out_dir / "cleaned_loans.parquet"))
    lookup.write.mode("overwrite").parquet(str(out_dir / "lookup_values.parquet"))
    tables: tuple[str, ...] = ()
    if jdbc:
        _ensure_schema(settings)
        options = jdbc_options(settings)
        tables = (f"{JDBC_SCHEMA}.cleaned_loans", f"{JDBC_SCHEMA}.lookup_values")
        for frame, table in zip((cleaned, lookup), tables, strict=True):
            frame.write.format("jdbc").options(**options, dbtable=table, truncate="true").mode("overwrite").save()
    report = ExportReport(
        spark.read.parquet(str(out_dir / "cleaned_loans.parquet")).count(),
        spark.read.parquet(str(out_dir / "lookup_values.parquet")).count(),
        out_dir,
        tables,
    )
    log.info(report.summary())
    return report


def _ensure_schema(settings: Settings) -> None:
    with connect(settings, autocommit=True) as conn:
        conn.execute(f"create schema if not exists {JDBC_SCHEMA}")
