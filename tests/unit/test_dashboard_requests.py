"""What the dashboard's server does with a request, through Flask's test client (no browser,
no database): bodies above the cap are refused before Dash reads them, and nothing a request
sends is echoed back.

The reader stands for a warehouse whose marts are not built yet (every query: undefined
table), so the pages and callbacks take their real paths without a server to ask.
"""

from __future__ import annotations

import contextvars
import io
import json
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from werkzeug.test import TestResponse

from dashboard import data
from dashboard.app import MAX_REQUEST_BYTES, create_app
from dashboard.layout import MARTS_VERSION, NOT_BUILT
from dashboard.pages.portfolio import SCATTER, STATE_FILTER
from lendflow import settings as config

CALLBACK = "/_dash-update-component"
T = TypeVar("T")


class UndefinedTable(Exception):
    sqlstate = "42P01"


class UnbuiltMarts(data.MartsReader):
    def _fetch(self, query: str, params: Mapping[str, Any] | None = None) -> data.Rows:
        if query == data.MARTS_VERSION_SQL:
            return data.Rows(("version",), (("empty",),))
        raise UndefinedTable("relation does not exist")


class Client:
    """Flask's test client, each call made from a thread of its own (with this thread's
    context variables, which Dash reads): Dash's request hooks go through asgiref, which
    refuses a thread that runs an event loop, and the browser tests' Playwright keeps one
    running in the main thread for the rest of the session."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        app = self._call(create_app, config.load(), UnbuiltMarts("postgresql://unused"))
        self._client = app.server.test_client()

    def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._pool.submit(contextvars.copy_context().run, function, *args, **kwargs).result()

    def get(self, *args: Any, **kwargs: Any) -> TestResponse:
        return self._call(self._client.get, *args, **kwargs)

    def post(self, *args: Any, **kwargs: Any) -> TestResponse:
        return self._call(self._client.post, *args, **kwargs)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with ThreadPoolExecutor(1) as pool:
        yield Client(pool)


def state_filter_request(value: object) -> dict[str, Any]:
    """The body the browser posts when the state filter changes (as Dash 4 sends it)."""
    return {
        "output": f"{SCATTER}.figure",
        "outputs": {"id": SCATTER, "property": "figure"},
        "inputs": [
            {"id": STATE_FILTER, "property": "value", "value": value},
            {"id": MARTS_VERSION, "property": "data", "value": ""},
        ],
        "changedPropIds": [f"{STATE_FILTER}.value"],
        "state": [],
    }


def test_a_callback_within_the_cap_is_answered(client: Client) -> None:
    response = client.post(CALLBACK, json=state_filter_request("CA"))
    assert response.status_code == 200
    assert NOT_BUILT in response.get_data(as_text=True)


def test_an_oversize_callback_body_is_refused_with_413(client: Client) -> None:
    body = json.dumps(state_filter_request("x" * MAX_REQUEST_BYTES))
    assert len(body) > MAX_REQUEST_BYTES
    response = client.post(CALLBACK, data=body, content_type="application/json")
    assert response.status_code == 413
    assert "xxxx" not in response.get_data(as_text=True)


def test_an_oversize_body_without_a_length_is_refused_too(client: Client) -> None:
    # Chunked, as gunicorn passes it on: no Content-Length to check up front, a stream the
    # server ends (wsgi.input_terminated); the cap applies while Flask reads it.
    body = json.dumps(state_filter_request("x" * MAX_REQUEST_BYTES)).encode()
    response = client.post(
        CALLBACK,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": None},
    )
    # Flask reads at most the cap; the JSON cut there does not parse, so Dash refuses it (400)
    # without running a callback. Without the cap the whole body is read and answered (200).
    assert response.status_code == 400


@pytest.mark.parametrize(
    "value", ["<img src=x onerror=alert(1)>", "'; drop table marts.fct_loans; --", "ZZ-" + "z" * 5000]
)
def test_a_filter_value_is_never_echoed(client: Client, value: str) -> None:
    response = client.post(CALLBACK, json=state_filter_request(value))
    assert response.status_code == 200
    assert value not in response.get_data(as_text=True)
    assert json.dumps(value)[1:-1] not in response.get_data(as_text=True)


def test_neither_the_url_nor_the_host_is_echoed_into_a_page(client: Client) -> None:
    marker = "zz-never-echoed"
    for path in ("/", f"/{marker}", f"/answers?q=<script>{marker}</script>"):
        response = client.get(path, headers={"Host": f"{marker}.example"})
        assert response.status_code == 200
        assert marker not in response.get_data(as_text=True), path
