"""Commands over the local services: up, down, status."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.output import console, fail, print_table
from lendflow import settings as config

app = typer.Typer()
PANEL = "Services"

Services = Annotated[
    list[str] | None,
    typer.Option(
        "--service",
        "-s",
        help="Only this service (postgres, kafka, spark, spark-cluster, airflow, dashboard); repeatable.",
    ),
]


@app.command(rich_help_panel=PANEL)
def up(service: Services = None) -> None:
    """Start the local services (idempotent); external ones named in the environment are used as they are."""
    from lendflow.services import local
    from lendflow.services.base import ServiceError

    try:
        local.up(config.load(), service)
    except ServiceError as error:
        fail(str(error))
    status()


@app.command(rich_help_panel=PANEL)
def down(service: Services = None) -> None:
    """Stop the local services; no process of ours is left running."""
    from lendflow.services import local
    from lendflow.services.base import ServiceError

    try:
        local.down(config.load(), service)
    except ServiceError as error:
        fail(str(error))
    console.print("local services stopped")


@app.command(rich_help_panel=PANEL)
def status(
    dsn: Annotated[
        bool, typer.Option("--dsn", help='Print only the PostgreSQL DSN, password included (for psql "$(...)").')
    ] = False,
) -> None:
    """Show each service: running or not, and its address (the PostgreSQL DSN among them, password masked)."""
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
    print_table(table)
