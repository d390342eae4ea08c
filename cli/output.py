"""How the commands speak: one stderr console for messages, tables on stdout, one way to fail."""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)

ROLE_HELP = (
    "Database role to land as: loader (least privilege: may only insert into raw) or owner "
    "(the warehouse's owner, for warehouses without a loader role)."
)
LANDING_ROLES = ("loader", "owner")

# The options every command that reads the topic takes.
TopicOption = Annotated[str | None, typer.Option(help="Kafka topic (default: $LENDFLOW_KAFKA_TOPIC).")]
GroupOption = Annotated[
    str | None,
    typer.Option(help="Consumer group; its offsets say what has landed (default: lendflow-landing-<database>)."),
]


def fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def landing_role(role: str) -> str:
    if role not in LANDING_ROLES:
        fail(f"--role must be one of {', '.join(LANDING_ROLES)}, not {role!r}")
    return role


def print_table(table: Table) -> None:
    """Tables go to stdout; off a terminal rich would cut long cells (DSNs) at 80 columns."""
    Console(width=None if sys.stdout.isatty() else 220).print(table)


def say(text: str) -> None:
    """A line of a report; paths and URLs stay whole (no wrapping at 80 columns off a terminal)."""
    console.print(text, soft_wrap=True)
