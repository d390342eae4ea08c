"""The pipeline end to end: services, sample data, landing, the warehouse."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ingestion.land import LandingReport, land_file
from lendflow import generate
from lendflow.db import connect
from lendflow.dbt import run_dbt
from lendflow.services import local
from lendflow.settings import Settings
from python_steps import run as python_steps

log = logging.getLogger(__name__)

DEFAULT_ROWS = 27_030
DEFAULT_SEED = 42


@dataclass(frozen=True)
class RunResult:
    input_file: Path
    landing: LandingReport
    fct_loans_rows: int


def default_sample(settings: Settings, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> Path:
    """The generated sample's CSV, generated once per (rows, seed) and reused after."""
    out_dir = settings.data_dir / f"sample-{rows}-seed{seed}"
    csv_path = out_dir / "loans.csv"
    if not csv_path.exists():
        log.info("generating %s sample loans (seed %s) into %s", f"{rows:,}", seed, out_dir)
        generate.write_sample(out_dir, rows=rows, seed=seed)
    return csv_path


def run(settings: Settings, input_file: Path | None = None) -> RunResult:
    local.up(settings, ["postgres"])
    source = Path(input_file) if input_file else default_sample(settings)
    report = land_file(source, settings)
    log.info(report.summary())
    # The Python steps write tables that dbt reads as sources: they run between landing and dbt.
    # A new file refits everything (Python steps and dbt's fitted values: a full refresh);
    # with nothing new, dbt's incremental models merge only what changed.
    refit = report.rows_landed > 0
    python_steps.run(settings, refit=refit)
    run_dbt(["build", "--full-refresh"] if refit else ["build"], settings)
    with connect(settings) as conn:
        (count,) = conn.execute("select count(*) from marts.fct_loans").fetchone() or (0,)
    return RunResult(source, report, int(count))
