"""The dashboard command."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.output import fail
from lendflow import settings as config

app = typer.Typer()
PANEL = "Dashboard"


@app.command(rich_help_panel=PANEL)
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default: $LENDFLOW_DASHBOARD_PORT, else 8050).")] = None,
    workers: Annotated[int, typer.Option(help="gunicorn worker processes.")] = 2,
    debug: Annotated[
        bool,
        typer.Option(help="Dash's debug server instead of gunicorn; refused unless LENDFLOW_DASHBOARD_ALLOW_DEBUG=1."),
    ] = False,
) -> None:
    """Serve the dashboard over the marts (gunicorn, debug off) as the read-only role; print its address."""
    from dashboard.serve import ServeOptions, serve
    from dashboard.serving_policy import DebugModeRefused

    settings = config.load()
    options = ServeOptions(host=host, port=port or settings.dashboard_port, workers=workers)

    def announce(address: str) -> None:
        # stdout, flushed: scripts and tests wait for this line.
        print(f"dashboard serving at {address}", flush=True)

    try:
        serve(settings, options, debug=debug, announce=announce)
    except DebugModeRefused as error:
        fail(str(error))
