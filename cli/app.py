"""The `lendflow` command: one typer app gathering the commands of each area (cli/<area>.py)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.logging import RichHandler

from cli import dashboard, ingest, pipeline, services, spark, stream, warehouse
from cli.output import console

app = typer.Typer(
    help="lendflow: land loans from files and Kafka, clean them with dbt, serve the marts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )


# Nameless: each area's commands join the top level (`lendflow land`, `lendflow spark-stage`).
for area in (services, ingest, stream, warehouse, pipeline, dashboard, spark):
    app.add_typer(area.app)
