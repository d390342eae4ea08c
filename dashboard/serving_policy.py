"""When the dashboard may serve: never in Dash's debug mode unless someone asked for it.

Debug mode runs the Werkzeug debugger, which executes Python typed into a browser page:
fine on a laptop, a remote shell anywhere else. So asking for debug (a flag, an option)
is not enough; the environment must allow it too, with LENDFLOW_DASHBOARD_ALLOW_DEBUG=1.
The app calls this before it serves:

    check_debug_allowed(debug, settings.dashboard_allow_debug)
"""

from __future__ import annotations

from lendflow.settings import DASHBOARD_ALLOW_DEBUG_ENV as ALLOW_DEBUG_ENV


class DebugModeRefused(RuntimeError):
    """Debug mode was requested but not explicitly allowed."""


def check_debug_allowed(debug: bool, allow_debug_env: str | None) -> None:
    """Return if serving with this debug setting is allowed; raise DebugModeRefused if not.

    Only the exact value "1" allows debug: "true", "yes" or a stray space do not, so a
    value copied from somewhere else cannot switch the debugger on by accident.
    """
    if not debug:
        return
    if allow_debug_env == "1":
        return
    raise DebugModeRefused(
        "the dashboard refuses to start in debug mode: the debugger runs code sent from the browser. "
        f"Set {ALLOW_DEBUG_ENV}=1 to allow it, on your own machine only."
    )
