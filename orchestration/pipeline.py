"""The pipeline end to end: services, sample data, landing (files and stream), the warehouse."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ingestion.land import LandingReport, land_file
from lendflow.db import connect
from lendflow.dbt import run_dbt
from lendflow.services import local
from lendflow.settings import Settings
from python_steps import run as python_steps
from sample.files import write_sample
from streaming.consumer import ConsumeReport, consume
from streaming.producer import produce

log = logging.getLogger(__name__)

DEFAULT_ROWS = 27_030
DEFAULT_SEED = 42


@dataclass(frozen=True)
class RunResult:
    input_file: Path
    landing: LandingReport
    stream: ConsumeReport | None
    fct_loans_rows: int


def default_sample(settings: Settings, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> Path:
    """The generated sample's CSV, generated once per (rows, seed) and reused after."""
    out_dir = settings.data_dir / f"sample-{rows}-seed{seed}"
    csv_path = out_dir / "loans.csv"
    if not csv_path.exists():
        log.info("generating %s sample loans (seed %s) into %s", f"{rows:,}", seed, out_dir)
        write_sample(out_dir, rows=rows, seed=seed)
    return csv_path


def topic_has_landed(settings: Settings, topic: str) -> bool:
    """True once this warehouse holds events of topic: its stream sample need not be replayed again."""
    with connect(settings, role="loader") as conn:
        # Two statements: one naming a missing table fails at parse time, whatever guards it.
        exists = conn.execute("select to_regclass('raw.loan_events') is not null").fetchone()
        if not (exists and exists[0]):
            return False
        row = conn.execute("select exists (select 1 from raw.loan_events where topic = %s)", (topic,)).fetchone()
    return bool(row and row[0])


def land_stream_sample(settings: Settings, stream_file: Path) -> ConsumeReport:
    """Replay the sample's stream through Kafka once, and land whatever the topic holds.

    The sample is produced only while nothing of the topic has landed, so a second run adds
    no new events; the consumer then stops once it has read the topic to its end.
    """
    local.up(settings, ["kafka"])
    replayed = not topic_has_landed(settings, settings.kafka_topic)
    if replayed:
        log.info(produce(stream_file, settings).summary())
    return consume(settings, idle_timeout=60, caught_up=not replayed)


def run(settings: Settings, input_file: Path | None = None) -> RunResult:
    """Land a file (default: the generated sample, and its stream through Kafka), then build."""
    local.up(settings, ["postgres"])
    source = Path(input_file) if input_file else default_sample(settings)
    report = land_file(source, settings)
    log.info(report.summary())
    stream = None if input_file else land_stream_sample(settings, source.parent / "stream.csv")
    # The Python steps write tables that dbt reads as sources: they run between landing and dbt.
    # A new file refits everything (Python steps and dbt's fitted values: a full refresh);
    # with nothing new, dbt's incremental models merge only what changed.
    refit = report.rows_landed > 0
    python_steps.run(settings, refit=refit)
    run_dbt(["build", "--full-refresh"] if refit else ["build"], settings)
    with connect(settings) as conn:
        (count,) = conn.execute("select count(*) from marts.fct_loans").fetchone() or (0,)
    return RunResult(source, report, stream, int(count))
