# syntax=docker/dockerfile:1
# The project's image: one image for the dashboard, the Airflow components and the
# one-shot init jobs of docker-compose.yml. It installs exactly what a local install does:
# requirements.lock with uv, then the project itself, editable, from /app (settings.py
# finds dbt_project/ and profiles/ beside the package, as in a checkout).

# Pinned: Debian 12 (bookworm) like the local stack, Python 3.11 like pyproject.toml.
FROM python:3.11.11-slim-bookworm

ARG UV_VERSION=0.13.8
ARG APP_UID=10001

# Bytecode is compiled once by uv at install (UV_COMPILE_BYTECODE) since Python writes none at
# run time here: without it every dbt start would compile dbt from source first.
ENV PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    LENDFLOW_HOME=/var/lib/lendflow \
    AIRFLOW_HOME=/var/lib/lendflow/airflow

# Java for Spark (pyspark, dbt-spark's session method); libpq for psycopg2's tools.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless libpq5 procps \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv && pip install uv==${UV_VERSION}

WORKDIR /app
# The lock first, alone: the slow layer is rebuilt only when the pins change.
COPY requirements.lock ./
RUN uv pip install --python /opt/venv/bin/python -r requirements.lock

COPY . .
RUN uv pip install --python /opt/venv/bin/python --no-deps -e . \
    && useradd --uid ${APP_UID} --create-home --shell /usr/sbin/nologin lendflow \
    && mkdir -p "$AIRFLOW_HOME" /app/dbt_project/target /app/dbt_project/logs \
    && chown -R lendflow:lendflow "$LENDFLOW_HOME" /app/dbt_project

USER lendflow
CMD ["lendflow", "--help"]
