"""Commands that bring raw data in: generate, land, batches, withdraw, produce, consume."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.output import ROLE_HELP, GroupOption, TopicOption, console, fail, landing_role, print_table, say
from lendflow import settings as config

app = typer.Typer()
PANEL = "Raw data in"


@app.command(rich_help_panel=PANEL)
def generate(
    rows: Annotated[int, typer.Option(help="Number of batch loans.")] = 27_030,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 42,
    out: Annotated[
        Path | None, typer.Option(help="Output folder [default: $LENDFLOW_HOME/data/sample-ROWS-seedSEED].")
    ] = None,
    stream_rows: Annotated[int, typer.Option(help="Loans in the separate stream sample (new loan ids).")] = 5_000,
) -> None:
    """Generate raw sample loans (CSV and Parquet, plus a stream sample) as DATA.md describes them."""
    from sample.files import write_sample

    settings = config.load()
    out_dir = out or settings.data_dir / f"sample-{rows}-seed{seed}"
    files = write_sample(out_dir, rows=rows, seed=seed, stream_rows=stream_rows)
    console.print(f"wrote {files}")


@app.command(rich_help_panel=PANEL)
def land(
    files: Annotated[
        list[Path], typer.Argument(help="CSV or Parquet files of raw loans.", exists=True, dir_okay=False)
    ],
    role: Annotated[str, typer.Option(help=ROLE_HELP)] = "loader",
) -> None:
    """Land raw files into PostgreSQL raw.loans untouched, exactly once; report read/landed/rejected.

    One transaction per file (a crash leaves nothing half-landed); a file landed before (same
    SHA-256) is skipped; malformed lines go to raw.rejected_rows with their line number and reason.
    """
    from ingestion.land import LandingError, land_file

    settings = config.load()
    for path in files:
        try:
            report = land_file(path, settings, role=None if landing_role(role) == "owner" else role)
        except LandingError as error:
            fail(str(error))
        console.print(report.summary())


@app.command(rich_help_panel=PANEL)
def batches() -> None:
    """List the landed batch files: rows read, landed, rejected at landing, and quarantined by dbt."""
    from ingestion.batches import list_batches

    table = Table(title="landed batches (withdraw one with `lendflow withdraw SHA256`)")
    for column in ("landed at", "sha256", "batch id", "file", "read", "landed", "rejected", "quarantined"):
        table.add_column(column)
    for batch in list_batches(config.load()):
        quarantined = "-" if batch.rows_quarantined is None else f"{batch.rows_quarantined:,}"
        table.add_row(
            f"{batch.landed_at:%Y-%m-%d %H:%M:%S}",
            batch.file_sha256[:12],
            batch.batch_id,
            batch.source_file,
            f"{batch.rows_read:,}",
            f"{batch.rows_landed:,}",
            f"{batch.rows_rejected:,}",
            quarantined,
        )
    print_table(table)


@app.command(rich_help_panel=PANEL)
def withdraw(
    batch: Annotated[str, typer.Argument(help="Batch id, or the file's SHA-256 (a prefix of 8+ digits will do).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    rebuild: Annotated[
        bool, typer.Option(help="Then rebuild from what remains (Python steps, dbt build --full-refresh).")
    ] = True,
) -> None:
    """Withdraw a landed batch file, as the warehouse's owner: its rows leave raw.loans, raw.rejected_rows
    and raw.landed_files in one transaction, then everything built from them goes with a full rebuild."""
    from ingestion.batches import BatchError, find_batch
    from ingestion.batches import withdraw as withdraw_batch
    from lendflow.db import connect
    from lendflow.dbt import run_dbt
    from python_steps import run as python_steps

    settings = config.load()
    try:
        with connect(settings) as conn:
            found = find_batch(conn, batch)
        if not yes:
            typer.confirm(
                f"withdraw {found.source_file} (sha256 {found.file_sha256[:12]}, {found.rows_landed:,} rows)?",
                abort=True,
            )
        done = withdraw_batch(settings, batch)
    except BatchError as error:
        fail(str(error))
    say(
        f"withdrew {done.batch.source_file} (batch {done.batch.batch_id}): {done.loans_deleted:,} rows from"
        f" raw.loans, {done.rejected_deleted:,} from raw.rejected_rows"
    )
    if not rebuild:
        say("[yellow]the next build must be a full refresh[/yellow]: lendflow dbt build --full-refresh")
        return
    python_steps.run(settings)
    run_dbt(["build", "--full-refresh"], settings)
    say("rebuilt: the marts hold nothing of the withdrawn batch")


@app.command(rich_help_panel=PANEL)
def produce(
    file: Annotated[Path, typer.Argument(help="A raw CSV or Parquet file of loans.", exists=True, dir_okay=False)],
    topic: Annotated[str | None, typer.Option(help="Kafka topic (default: $LENDFLOW_KAFKA_TOPIC).")] = None,
    rate: Annotated[float | None, typer.Option(help="Messages per second (default: flat out).")] = None,
    limit: Annotated[int | None, typer.Option(help="Send only the first N loans.")] = None,
    eof: Annotated[bool, typer.Option(help="End with the EOF message on every partition.")] = True,
) -> None:
    """Replay a file to Kafka: one JSON object per loan (the 24 raw columns), keyed by loan id, then EOF."""
    from streaming.producer import ProducerError
    from streaming.producer import produce as produce_file

    try:
        report = produce_file(file, config.load(), topic, rate=rate, limit=limit, send_eof=eof)
    except ProducerError as error:
        fail(str(error))
    console.print(report.summary())


@app.command(rich_help_panel=PANEL)
def consume(
    topic: TopicOption = None,
    group: GroupOption = None,
    follow: Annotated[bool, typer.Option("--follow", help="Keep consuming after EOF, until SIGTERM/Ctrl-C.")] = False,
    batch_size: Annotated[int, typer.Option(help="Messages per database transaction.")] = 10_000,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Also stop after this many seconds without a message.")
    ] = None,
    caught_up: Annotated[
        bool, typer.Option("--caught-up", help="Also stop once the topic is read to its end, EOF or not.")
    ] = False,
    role: Annotated[str, typer.Option(help=ROLE_HELP)] = "loader",
) -> None:
    """Land the Kafka topic into raw.loan_events untouched, exactly once; stops at EOF unless --follow.

    Stops when, after an EOF message, every assigned partition has sent EOF or been read to its
    end (lendflow's producer sends EOF to every partition; a single course-style EOF works too).
    --caught-up lands what the topic holds now, for a topic whose producer sends no EOF.
    SIGTERM or Ctrl-C stops cleanly after the current batch.
    """
    from streaming.consumer import ConsumerError
    from streaming.consumer import consume as consume_topic

    settings = config.load()
    try:
        report = consume_topic(
            settings,
            topic,
            group=group,
            follow=follow,
            batch_size=batch_size,
            idle_timeout=idle_timeout,
            caught_up=caught_up,
            dsn=settings.pg_dsn if landing_role(role) == "owner" else settings.role_dsn(role),
        )
    except ConsumerError as error:
        fail(str(error))
    console.print(report.summary())
