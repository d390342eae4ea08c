"""`lendflow stream`: the continuous process (orchestration/stream.py), with its live view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli.output import GroupOption, TopicOption, console, fail, say
from lendflow import settings as config

if TYPE_CHECKING:  # the command imports it when it runs: `lendflow --help` stays quick
    from orchestration.stream import StreamState

app = typer.Typer()
PANEL = "Continuous mode"


def view(state: StreamState) -> Group:
    """The terminal's live panel: cycles, events/s, freshness, the last error."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    fresh = state.last_freshness
    build = state.last_build
    table.add_row("now", state.doing)
    table.add_row("cycles", f"{state.cycles:,} ({state.builds:,} builds, {state.failed_builds:,} failed)")
    table.add_row("landed", f"{state.landed:,} messages, {state.events_per_second():,.1f} events/s")
    table.add_row(
        "freshness",
        "-" if fresh is None else f"{fresh.newest:.1f} s (oldest message of the build {fresh.oldest:.1f} s)",
    )
    if build is not None:
        verdict = "" if build.success else " [red]failed[/red]"
        table.add_row("last build", f"{build.nodes} nodes in {build.seconds:.1f} s{verdict}")
    parts: list[Table | Text] = [table]
    if state.last_error:
        parts.append(Text.from_markup(f"[red]last error:[/red] {escape(state.last_error)}"))
    return Group(*parts)


@app.command(rich_help_panel=PANEL)
def stream(
    topic: TopicOption = None,
    group: GroupOption = None,
    poll_interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds a cycle waits for a first new message (default: $LENDFLOW_STREAM_POLL_INTERVAL, 1)."
        ),
    ] = None,
    periodic_every: Annotated[
        int | None,
        typer.Option(
            help="After every N builds also run the periodic lane (selector `stream_periodic_data`: "
            "the models tagged periodic and every data test; `stream_periodic`, with the views and "
            "unit tests, when the project changed); 0: never "
            "(default: $LENDFLOW_STREAM_PERIODIC_EVERY, 20)."
        ),
    ] = None,
    max_cycles: Annotated[int | None, typer.Option(help="Stop after N cycles (tests, benchmarks).")] = None,
    until_idle: Annotated[
        bool,
        typer.Option("--until-idle", help="Stop once everything on the topic has landed and been built."),
    ] = False,
) -> None:
    """Land the topic continuously and keep the marts up to date after every landed batch.

    Each cycle lands what has arrived, exactly once (as `consume`), then maps the batch's new job
    titles and runs dbt in this process on the stream path (selector `stream_path`: staging of
    events, intermediate incrementals, fct_loans, the aggregate tables the marts read, and their
    data tests), parsing the project only when it changed. Every N builds the periodic lane
    follows (`--periodic-every`). A cycle with no new message runs no dbt. A failed build is
    shown and retried next cycle; landing goes on. SIGTERM or Ctrl-C stops after the current cycle.
    """
    from orchestration.stream import StreamOptions, StreamState, run_stream
    from streaming.consumer import ConsumerError

    settings = config.load()
    options = StreamOptions.from_settings(
        settings,
        topic=topic,
        group=group,
        poll_interval=poll_interval,
        periodic_every=periodic_every,
        max_cycles=max_cycles,
        until_idle=until_idle,
    )
    live = Live(view(StreamState()), console=console, refresh_per_second=4, transient=False)
    on_terminal = console.is_terminal

    def on_cycle(state: StreamState) -> None:
        if on_terminal:
            live.update(view(state))
        elif state.last is not None and (state.last.batch.messages or state.last.build is not None):
            # off a terminal (a log file): a whole line per cycle that did something, never wrapped
            say(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} {state.last.line()}")

    def on_build(state: StreamState) -> None:
        if on_terminal:
            live.update(view(state))

    try:
        if on_terminal:
            with live:
                state = run_stream(settings, options, on_cycle=on_cycle, on_build=on_build)
        else:
            state = run_stream(settings, options, on_cycle=on_cycle)
    except ConsumerError as error:
        fail(str(error))
    say(f"stream: {state.summary()}")
