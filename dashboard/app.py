"""Building the Dash app: pages registered, callbacks attached, the reader configured.

`create_app(settings)` is the one way in; `dashboard.wsgi:server` and `lendflow dashboard`
both use it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import dash

from dashboard import data, figures
from dashboard.layout import UNREACHABLE_ERRORS, shell
from lendflow.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
# plotly.js with only the traces the dashboard draws (scatter, bar, box, heatmap), built by
# plotly_bundle/build.sh at the version the Python plotly package draws with (the unit tests
# check they agree; rerun it after a plotly upgrade). Dash includes every assets/*.js in the
# page, and dcc.Graph uses this window.Plotly instead of loading the full 4.8 MB bundle. It
# is plotly.js's own code, bundled as plotly.js bundles it; only the trace list is ours.
# Evaluating plotly.js is the largest part of a first load, and this bundle is about a quarter
# of the cost of plotly.js's own "cartesian" partial bundle.
PLOTLY_BUNDLE_GLOB = "plotly-custom-*.min.js"
# Dash puts @babel/polyfill (core-js 2, for browsers older than any Dash supports now) first
# in every page. Today's browsers have everything it adds but `regeneratorRuntime`, which
# Dash's own bundles call (their lazy loaders were compiled with it). Evaluating the polyfill,
# and the slower stand-ins it installs for some native functions, costs Chromium's CPU on
# every first load (bench/bench_dashboard.py), so the page gets regenerator-runtime alone,
# vendored in assets/ from the npm package of that name (MIT): to update, `npm pack
# regenerator-runtime@VERSION` and copy its runtime.js here as regenerator-runtime-VERSION.js
# (and its LICENSE next to it).
POLYFILL_SCRIPT = re.compile(r'<script src="[^"]*/deps/polyfill@[^"]*"></script>\n?')
REGENERATOR_BUNDLE_GLOB = "regenerator-runtime-*.js"
# The largest request body the server reads; above it Flask answers 413 before Dash parses
# anything. The dashboard's own callbacks send a few hundred bytes (a filter value and the ids
# around it); a client that sends megabytes only wants to cost the server memory and time.
MAX_REQUEST_BYTES = 64 * 1024


class DashboardApp(dash.Dash):
    """dash.Dash, whose index page leaves out the polyfill (see POLYFILL_SCRIPT)."""

    def interpolate_index(  # Dash's documented hook for the index page, with its parameters
        self,
        metas: str = "",
        title: str = "",
        css: str = "",
        config: str = "",
        scripts: str = "",
        app_entry: str = "",
        favicon: str = "",
        renderer: str = "",
    ) -> str:
        return str(
            super().interpolate_index(
                metas=metas,
                title=title,
                css=css,
                config=config,
                scripts=without_polyfill(scripts),
                app_entry=app_entry,
                favicon=favicon,
                renderer=renderer,
            )
        )


def without_polyfill(scripts: str) -> str:
    """The index page's script tags without Dash's @babel/polyfill (a pure function: tested)."""
    return POLYFILL_SCRIPT.sub("", scripts)


def create_app(settings: Settings, reader: data.MartsReader | None = None) -> dash.Dash:
    """The dashboard over the warehouse `settings` names, read as the read-only role."""
    data.configure(reader or data.MartsReader.for_settings(settings))
    data.reader().on_new_version(warm_cache)
    app = DashboardApp(
        __name__,
        title="lendflow portfolio",
        use_pages=True,
        # Pages are registered explicitly below rather than discovered by importing a folder.
        pages_folder="",
        assets_folder=str(HERE / "assets"),
        # Filters and charts live on pages, not in the shell: their ids appear with the page.
        suppress_callback_exceptions=True,
        # Everything (plotly.js included) is served by the app itself: no CDN, works offline.
        serve_locally=True,
        # No link-preview tags (og:, twitter:): they would echo the request's URL, Host header
        # included, into every page, and an internal dashboard has no use for previews.
        include_pages_meta=False,
    )
    # Imported here: register_page needs the app above to exist; the callbacks import the pages.
    from dashboard import callbacks  # noqa: F401  (registers the callbacks)
    from dashboard.pages import answers, portfolio, quality

    for page in (portfolio, answers, quality):
        page.register()
    app.layout = shell
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    figures.warm_up()
    warm_cache()
    _register_resources(app)
    return app


def warm_cache() -> None:
    """Build every page once, now, so that the first visitor finds its figures in the cache.

    Run in the gunicorn master before it forks (preload_app), so every worker starts with
    the cache filled for the current marts version; a first load then costs the server a
    few dictionary lookups instead of the queries and the figures (~100 ms, more under
    load). When dbt rebuilds the marts, their version changes and the reader calls this
    again (data.MartsReader.on_new_version).
    """
    reader = data.reader()
    try:
        reader.version()
    except UNREACHABLE_ERRORS as error:
        log.warning("dashboard: warehouse unreachable, cache not warmed: %s", error)
        return
    for page in dash.page_registry.values():
        layout = page["layout"]
        if callable(layout):
            layout()


def _register_resources(app: dash.Dash) -> None:
    """Render the index page once, now, so that every gunicorn worker can serve the JS bundles.

    Dash learns which script files it may serve while it renders the index page; a worker
    that has not rendered it answers 500 for them. Rendering it here, before gunicorn forks,
    gives every worker the full list. Dash validates the layout on that first request, which
    runs a query; the connections it opened are dropped again before any fork.
    """
    response = app.server.test_client().get(app.config.requests_pathname_prefix)
    data.reader().reset_connections()
    if response.status_code != 200:
        raise RuntimeError(f"the dashboard's index page failed to render: HTTP {response.status_code}")
