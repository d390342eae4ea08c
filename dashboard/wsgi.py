"""WSGI entry point for any server: `gunicorn dashboard.wsgi:server` (settings from the environment)."""

from __future__ import annotations

from dashboard.app import create_app
from lendflow import settings as config

app = create_app(config.load())
server = app.server
