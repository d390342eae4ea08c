"""`lendflow`: the command line over every part of the pipeline."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from lendflow import settings as config

app = typer.Typer(
    help="lendflow: land loans from files and Kafka, clean them with dbt, serve the marts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

Services = Annotated[
    list[str] | None,
    typer.Option("--service", "-s", help="Only this service (postgres, kafka, spark); repeatable."),
]


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command()
def up(service: Services = None) -> None:
    """Start the local services (idempotent); external ones named in the environment are used as they are."""
    from lendflow.services import local
    from lendflow.services.base import ServiceError

    try:
        local.up(config.load(), service)
    except ServiceError as error:
        _fail(str(error))
    status()


@app.command()
def down(service: Services = None) -> None:
    """Stop the local services; no process of ours is left running."""
    from lendflow.services import local

    local.down(config.load(), service)
    console.print("local services stopped")


@app.command()
def status(
    dsn: Annotated[bool, typer.Option("--dsn", help='Print only the PostgreSQL DSN (for psql "$(...)").')] = False,
) -> None:
    """Show each service: running or not, and its address (the PostgreSQL DSN among them)."""
    from lendflow.services import local

    settings = config.load()
    if dsn:
        print(settings.pg_dsn)
        return
    table = Table(title=f"lendflow services (state in {settings.home})")
    for column in ("service", "state", "address", "detail"):
        table.add_column(column)
    for item in local.statuses(settings):
        state = "[green]running[/green]" if item.running else "[red]stopped[/red]"
        kind = " (external)" if item.external else ""
        table.add_row(item.name + kind, state, item.address, item.detail)
    Console().print(table)


@app.command()
def generate(
    rows: Annotated[int, typer.Option(help="Number of batch loans.")] = 27_030,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 42,
    out: Annotated[
        Path | None, typer.Option(help="Output folder [default: $LENDFLOW_HOME/data/sample-ROWS-seedSEED].")
    ] = None,
    stream_rows: Annotated[int, typer.Option(help="Loans in the separate stream sample (new loan ids).")] = 5_000,
) -> None:
    """Generate raw sample loans (CSV and Parquet, plus a stream sample) as DATA.md describes them."""
    from lendflow.generate import write_sample

    settings = config.load()
    out_dir = out or settings.data_dir / f"sample-{rows}-seed{seed}"
    files = write_sample(out_dir, rows=rows, seed=seed, stream_rows=stream_rows)
    console.print(f"wrote {files}")


@app.command()
def land(
    files: Annotated[
        list[Path], typer.Argument(help="CSV or Parquet files of raw loans.", exists=True, dir_okay=False)
    ],
) -> None:
    """Land raw files into PostgreSQL raw.loans untouched, exactly once; report read/landed/rejected."""
    from ingestion.land import LandingError, land_file

    settings = config.load()
    for path in files:
        try:
            report = land_file(path, settings)
        except LandingError as error:
            _fail(str(error))
        console.print(report.summary())


@app.command()
def dbt(
    args: Annotated[list[str] | None, typer.Argument(help="Arguments for dbt, e.g. `build -s fct_loans`.")] = None,
    target: Annotated[str, typer.Option(help="dbt target: postgres or spark.")] = "postgres",
) -> None:
    """Run dbt on the project with the connection lendflow uses."""
    from lendflow.dbt import DbtError, run_dbt

    try:
        run_dbt(args or ["build"], config.load(), target)
    except DbtError as error:
        _fail(str(error))


@app.command()
def run(
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input", help="A raw CSV or Parquet file [default: the generated sample].", exists=True, dir_okay=False
        ),
    ] = None,
) -> None:
    """Run the whole pipeline: services up, land, dbt build; then say where to look."""
    from lendflow import pipeline

    settings = config.load()
    try:
        result = pipeline.run(settings, input_file)
    except Exception as error:  # the edge: turn any failure into one clear line and exit 1
        logging.getLogger(__name__).debug("pipeline failed", exc_info=True)
        _fail(f"{type(error).__name__}: {error}")
    console.print(f"[green]done[/green]: {result.landing.summary()}")
    console.print(f"marts.fct_loans holds {result.fct_loans_rows:,} loans")
    console.print("query it: psql \"$(lendflow status --dsn)\" -c 'select count(*) from marts.fct_loans'")


if __name__ == "__main__":
    sys.exit(app())
