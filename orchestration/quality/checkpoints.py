"""Run suites as Great Expectations checkpoints against the warehouse; fail with a readable message.

Each run keeps its own GX project in the run folder (``<run>/gx``): the suites, the
validation results and the Data Docs site (``<run>/gx/uncommitted/data_docs/local_site``).
The connection string reaches GX as a ``${...}`` reference to an environment variable, so
no password is written into the run folder.

Only failed expectations of severity "critical" fail the gate; the others ("warning": what
dbt's row rules quarantine) are reported in the log, the results file and the Data Docs.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.quality.suites import Suite

log = logging.getLogger(__name__)

DSN_ENV = "LENDFLOW_GX_PG_DSN"
SAMPLE_SIZE = 10
FATAL = "critical"


class QualityGateFailed(RuntimeError):
    """A suite failed: the message names each failed expectation and a sample of offending rows."""


@dataclass(frozen=True)
class Failure:
    suite: str
    expectation: str
    kwargs: dict[str, Any]
    unexpected_count: int | None
    element_count: int | None
    sample: list[Any]
    error: str | None
    severity: str = FATAL

    @property
    def fatal(self) -> bool:
        return self.severity == FATAL

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items() if k not in {"batch_id", "result_format"})
        head = f"{self.suite}: {self.expectation}({args})"
        if self.error:
            return f"{head} could not run: {self.error}"
        if self.unexpected_count is not None:
            total = f" of {self.element_count:,}" if self.element_count is not None else ""
            return f"{head} failed: {self.unexpected_count:,}{total} rows unexpected; sample: {self.sample}"
        return f"{head} failed: observed {self.sample}"


def failures_from_result(suite_name: str, results: list[dict[str, Any]]) -> list[Failure]:
    """The failed expectations of one suite's validation result (its JSON form), in suite order."""
    found = []
    for item in results:
        if item.get("success"):
            continue
        config = item.get("expectation_config") or {}
        result = item.get("result") or {}
        error = _error_message(item.get("exception_info") or {})
        sample = result.get("partial_unexpected_index_list") or result.get("partial_unexpected_list")
        if sample is None:
            sample = [result.get("observed_value")]
        found.append(
            Failure(
                suite=suite_name,
                expectation=str(config.get("type", "?")),
                kwargs=dict(config.get("kwargs") or {}),
                unexpected_count=result.get("unexpected_count"),
                element_count=result.get("element_count"),
                sample=[_plain(value) for value in list(sample)[:SAMPLE_SIZE]],
                error=error,
                severity=str(config.get("severity") or FATAL),
            )
        )
    return found


def _plain(value: Any) -> Any:
    """A sample value as Python prints it plainly (numpy scalars from pandas batches become numbers)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value.item() if hasattr(value, "item") else value


def _error_message(exception: dict[str, Any]) -> str | None:
    """GX reports an exception either flat or per metric ({metric id: {...}}); the first message."""
    if exception.get("raised_exception"):
        return str(exception.get("exception_message"))
    for value in exception.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def as_url(dsn: str) -> str:
    """A libpq DSN as a URL, the only form SQLAlchemy (under GX) reads; key=value DSNs are valid too."""
    if dsn.startswith(("postgresql://", "postgres://")):
        return dsn
    from urllib.parse import quote, urlencode

    from psycopg.conninfo import conninfo_to_dict

    parts = {key: str(value) for key, value in conninfo_to_dict(dsn).items()}
    user, password = quote(parts.pop("user", ""), safe=""), quote(parts.pop("password", ""), safe="")
    host, port, dbname = parts.pop("host", ""), parts.pop("port", ""), quote(parts.pop("dbname", ""), safe="")
    if host.startswith("/"):  # a Unix socket's directory goes in the query, as libpq's URIs allow
        parts["host"], host = host, ""
    login = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    address = f"{host}:{port}" if port else host
    query = f"?{urlencode(parts)}" if parts else ""
    return f"postgresql://{login}{address}/{dbname}{query}"


def run_checkpoint(name: str, suites: list[Suite], run_dir: Path, *, dsn: str | None = None, spark: Any = None) -> Path:
    """Validate suites, one checkpoint each; write the results and Data Docs under run_dir/gx.

    The tables are read from PostgreSQL (dsn) or, for the spark target, from Spark's catalog
    (spark: a SparkSession; each table is validated as a Spark DataFrame).
    Each suite judges the rows it names (Suite.where, Suite.rows; the whole table otherwise).
    Returns the gate's results file. Raises QualityGateFailed naming every failed critical
    expectation; failed warnings are logged and kept in the results and Data Docs.
    """
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX logs every metric at INFO; its results file says what matters.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="file", project_root_dir=str(run_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # task logs are not terminals
    source: Any
    if spark is not None:
        source = context.data_sources.add_or_update_spark(name="spark")
    else:
        if dsn is None:
            raise ValueError("run_checkpoint needs a PostgreSQL dsn or a SparkSession")
        os.environ[DSN_ENV] = as_url(dsn)
        source = context.data_sources.add_or_update_postgres(name="warehouse", connection_string="${" + DSN_ENV + "}")
    computed = context.data_sources.add_or_update_pandas(name="computed")
    results: list[dict[str, Any]] = []
    failures: list[Failure] = []
    for suite in suites:
        batch, batch_parameters = _batch(suite, computed if suite.rows is not None else source, spark)
        gx_suite = context.suites.add_or_update(gx.ExpectationSuite(name=suite.name))
        for expectation in suite.expectations:
            gx_suite.add_expectation(expectation)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{name}: {suite.name}", data=batch, suite=gx_suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"{name}: {suite.name}",
                validation_definitions=[definition],
                actions=[UpdateDataDocsAction(name="data_docs")],
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": SAMPLE_SIZE,
                    # Offending rows come back with their key, so a failure points at the rows.
                    "unexpected_index_column_names": list(suite.key_columns),
                },
            )
        )
        outcome = checkpoint.run(batch_parameters=batch_parameters or None)
        for validation in outcome.run_results.values():
            payload = validation.to_json_dict()
            results.append({"suite": suite.name, **payload})
            found = failures_from_result(suite.name, payload.get("results", []))
            if not validation.success and not found:
                found.append(Failure(suite.name, "suite", {}, None, None, [], "failed without detail"))
            failures += found
    results_file = run_dir / "gx" / "results" / f"{name}.json"
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(results, indent=2, default=str))
    for failure in failures:
        if not failure.fatal:
            log.warning("quality gate %s reports (%s, not fatal): %s", name, failure.severity, failure.describe())
    fatal = [failure for failure in failures if failure.fatal]
    if fatal:
        details = "\n".join(f"  - {failure.describe()}" for failure in fatal)
        raise QualityGateFailed(f"quality gate {name!r} failed ({results_file}):\n{details}")
    log.info("quality gate %s passed: %s", name, ", ".join(suite.name for suite in suites))
    return results_file


def _batch(suite: Suite, source: Any, spark: Any) -> tuple[Any, dict[str, Any]]:
    """The suite's batch definition on source, and the batch parameters a run of it needs."""
    label = f"{suite.relation} {'this run' if suite.where else 'whole table'}"
    if suite.rows is not None:  # computed beforehand: a pandas DataFrame
        asset = source.add_dataframe_asset(name=suite.name)
        return asset.add_batch_definition_whole_dataframe(label), {"dataframe": suite.rows}
    if spark is not None:
        frame = spark.table(suite.relation)
        asset = source.add_dataframe_asset(name=suite.relation)
        batch = asset.add_batch_definition_whole_dataframe(label)
        return batch, {"dataframe": frame.where(suite.where) if suite.where else frame}
    if suite.where:
        query = f"select * from {suite.relation} where {suite.where}"
        return source.add_query_asset(name=suite.relation, query=query).add_batch_definition_whole_table(label), {}
    asset = source.add_table_asset(name=suite.relation, table_name=suite.table, schema_name=suite.schema)
    return asset.add_batch_definition_whole_table(label), {}
