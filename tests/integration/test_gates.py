"""The quality gates judge each run's own batches, on the real PostgreSQL, as the gate role only.

Runs are played as the DAG plays them, with the steps as plain functions on one warehouse:
land (as the loader) -> raw gate -> Python steps and dbt build (as the transformer) -> marts
gate. Run 1 lands a dirty file, run 2 a clean one: the dirty batch fails its own run and
blocks no later one. Then a batch is withdrawn with the CLI, as the owner.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest

from ingestion.land import file_sha256
from lendflow.dbt import run_dbt
from lendflow.raw_tables import ensure_raw_tables_exist
from lendflow.settings import Settings
from orchestration import steps
from orchestration.quality.checkpoints import QualityGateFailed
from python_steps import run as python_steps
from tests.conftest import only_as
from tests.strategies import csv_loan_ids, sample_rows

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOPIC = "lendflow-gates-test"
STREAMED = 20  # the first loans of the later file also arrive as stream messages in run 2
DIRTY_EVERY = 3  # a third of the dirty file's rows carry a rate in percent: far over 5%


@dataclass(frozen=True)
class Inputs:
    clean: Path
    dirty: Path
    later: Path  # a clean file of other loans, landed after the dirty one


@pytest.fixture(scope="module")
def inputs(small_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    out = tmp_path_factory.mktemp("gates")
    return Inputs(
        clean=sample_rows(small_sample, out / "clean.csv", 0, 300),
        dirty=sample_rows(small_sample, out / "dirty.csv", 300, 600, percent_every=DIRTY_EVERY),
        later=sample_rows(small_sample, out / "later.csv", 600, 900),
    )


@pytest.fixture(scope="module")
def warehouse(own_database: Callable[[str], Settings]) -> Settings:
    settings = own_database("gates")
    ensure_raw_tables_exist(settings)  # the owner's part (as `lendflow up` on a new warehouse)
    return settings


def _land(settings: Settings, run_dir: Path, *files: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    steps.land_batch_files(only_as(settings, "loader"), run_dir, list(files))


def _build(settings: Settings) -> None:
    transformer = only_as(settings, "transformer")
    python_steps.run(transformer)
    run_dbt(["build"], transformer)


def _gate(settings: Settings, run_dir: Path, name: str, *, with_stream: bool = False) -> list[dict[str, object]]:
    """The gate as the DAG runs it, with the owner locked out; its results file, read back."""
    results = steps.quality_gate(only_as(settings, "gate"), run_dir, name, "postgres", with_stream=with_stream)
    return list(json.loads(Path(results).read_text()))


def _expectations(results: list[dict[str, object]], suite: str) -> dict[str, dict[str, object]]:
    """Per expectation of a suite (type and column), its result."""
    (run,) = [r for r in results if r["suite"] == suite]
    found = {}
    for item in run["results"]:  # type: ignore[attr-defined]
        config = item["expectation_config"]
        found[f"{config['type']} {config['kwargs'].get('column', '')}".strip()] = item
    return found


def _count(settings: Settings, query: str) -> int:
    with psycopg.connect(settings.pg_dsn) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


@pytest.fixture(scope="module")
def run_1(warehouse: Settings, inputs: Inputs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run that lands the dirty file and builds it (the marts gate is each test's to call)."""
    run_dir = tmp_path_factory.mktemp("run_1")
    _land(warehouse, run_dir, inputs.dirty)
    _build(warehouse)
    return run_dir


def test_row_problems_of_the_batch_are_reported_not_fatal(warehouse: Settings, run_1: Path, inputs: Inputs) -> None:
    results = _gate(warehouse, run_1, "raw")  # no QualityGateFailed
    found = _expectations(results, "raw.loans")
    rate = found["expect_column_values_to_match_regex Int Rate"]
    assert not rate["success"]
    assert rate["expectation_config"]["severity"] == "warning"  # type: ignore[index]
    assert rate["result"]["unexpected_count"] >= len(range(300, 600, DIRTY_EVERY))  # type: ignore[index]
    assert rate["result"]["element_count"] == 300  # type: ignore[index]  # this run's rows only
    assert found["expect_compound_columns_to_be_unique"]["success"]


def test_a_batch_quarantined_over_the_threshold_fails_the_marts_gate_naming_it(
    warehouse: Settings, run_1: Path
) -> None:
    with pytest.raises(QualityGateFailed) as failure:
        _gate(warehouse, run_1, "marts")
    message = str(failure.value)
    assert "quarantined_share" in message
    assert "dirty.csv" in message
    assert re.search(r"int_rate_out_of_range \([0-9]+\)", message), message
    # Under a looser threshold the same batch is only reported.
    steps.quality_gate(replace(only_as(warehouse, "gate"), max_quarantined_share=0.5), run_1, "marts", "postgres")


@pytest.fixture(scope="module")
def run_2(warehouse: Settings, run_1: Path, inputs: Inputs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The next run, on the same warehouse: a clean file, and stream messages landed meanwhile."""
    run_dir = tmp_path_factory.mktemp("run_2")
    _land(warehouse, run_dir, inputs.clean)
    with open(inputs.later, newline="") as handle:
        messages = [json.dumps(row) for row in list(csv.DictReader(handle))[:STREAMED]]
    with psycopg.connect(warehouse.pg_dsn) as conn, conn.cursor() as cursor:  # as the consumer stores them
        cursor.executemany(
            "insert into raw.loan_events (topic, kafka_partition, kafka_offset, message_value, message_timestamp)"
            " values (%s, 0, %s, %s, now())",
            [(TOPIC, offset, value) for offset, value in enumerate(messages)],
        )
    (run_dir / "stream.json").write_text(json.dumps({"topic": TOPIC, "landed_offsets": {"0": [-1, STREAMED - 1]}}))
    _build(warehouse)
    return run_dir


def test_the_run_after_a_dirty_one_passes_both_gates(warehouse: Settings, run_2: Path, inputs: Inputs) -> None:
    raw = _gate(warehouse, run_2, "raw", with_stream=True)
    assert all(r["success"] for r in raw)
    rate = _expectations(raw, "raw.loans")["expect_column_values_to_match_regex Int Rate"]
    assert rate["result"]["element_count"] == 300  # type: ignore[index]  # the clean file, not the dirty one
    marts = _gate(warehouse, run_2, "marts")  # the dirty batch of run 1 is still in the warehouse
    shares = _expectations(marts, "quarantined share per batch")["expect_column_values_to_be_between quarantined_share"]
    assert shares["success"]
    assert shares["result"]["element_count"] == 2  # type: ignore[index]  # clean.csv and the stream
    served = _count(warehouse, "select count(*) from marts.fct_loans")
    assert served >= len(csv_loan_ids(inputs.clean) | csv_loan_ids(inputs.dirty)) * 0.6


def test_a_run_that_lands_nothing_new_passes(warehouse: Settings, run_2: Path, inputs: Inputs, tmp_path: Path) -> None:
    _land(warehouse, tmp_path, inputs.clean)  # landed before: skipped, no rows
    assert json.loads((tmp_path / "landing.json").read_text())[0]["skipped"]
    assert all(r["success"] for r in _gate(warehouse, tmp_path, "raw"))
    _gate(warehouse, tmp_path, "marts")


def test_withdraw_removes_a_batch_and_everything_built_from_it(
    warehouse: Settings, run_2: Path, inputs: Inputs, tmp_path: Path
) -> None:
    _land(warehouse, tmp_path, inputs.later)
    _build(warehouse)
    with open(inputs.later, newline="") as handle:
        streamed = {int(row["Loan Id"]) for row in list(csv.DictReader(handle))[:STREAMED]}
    only_later = csv_loan_ids(inputs.later) - csv_loan_ids(inputs.clean) - csv_loan_ids(inputs.dirty) - streamed
    served = "select count(*) from marts.fct_loans where loan_id = any(array[{}]::bigint[])"
    assert _count(warehouse, served.format(",".join(map(str, only_later))))
    env = {**os.environ, "LENDFLOW_PG_DB": warehouse.pg_db}
    lendflow = str(Path(sys.executable).parent / "lendflow")
    listed = subprocess.run([lendflow, "batches"], env=env, capture_output=True, text=True, check=True).stdout
    sha = file_sha256(inputs.later)
    assert sha[:12] in listed and file_sha256(inputs.dirty)[:12] in listed

    done = subprocess.run([lendflow, "withdraw", sha[:12], "--yes"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]

    assert _count(warehouse, served.format(",".join(map(str, only_later)))) == 0
    assert _count(warehouse, f"select count(*) from raw.landed_files where file_sha256 = '{sha}'") == 0
    assert _count(warehouse, "select count(*) from raw.loans") == 600  # clean + dirty
    # The full rebuild reconciles what remains: every raw record served, superseded or quarantined.
    assert _count(warehouse, "select count(*) from intermediate.int_loan_records_validated") == 600 + STREAMED
