# lendflow: two commands for a newcomer.
#   make run   - from nothing: venv, system packages, services, sample data, the pipeline (through Airflow)
#   make test  - from nothing: everything the tests need, then the whole suite
# Both are idempotent: a second run reuses what the first set up.

SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON      ?= $(shell command -v python3.11 || command -v python3)
VENV        := .venv
PY          := $(VENV)/bin/python
LENDFLOW    := $(VENV)/bin/lendflow
UV          := $(VENV)/bin/uv
UV_VERSION  := 0.13.8
# The venv is remade when the pins, the project or this recipe change.
STAMP       := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml Makefile | sha1sum | cut -c1-12)
PYTEST_ARGS ?=
# Two workers on two cores: the Spark lane on one, every other file on the other (tests/conftest.py).
PYTEST_WORKERS ?= 2

.PHONY: help run test setup venv system up down status lint docs format lock clean manifest airflow-run

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: setup ## Set everything up, run the pipeline through the Airflow DAG lending_elt, leave the dashboard and Airflow UI serving
	@# dag.test() in-process (no scheduler), then the dashboard (gunicorn, debug off) and the Airflow UI
	@# (api-server on the same metadata DB) serve in the background; `make down` stops everything.
	$(LENDFLOW) run --serve

test: setup lint ## Set everything up and run the whole test suite
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

setup: system venv ## Install system packages (if missing) and the virtualenv

venv: $(STAMP)

# The lock pins every package; uv installs it in seconds (pip's cache would take minutes).
$(STAMP): requirements.lock pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	VIRTUAL_ENV=$(VENV) $(UV) pip install -q -r requirements.lock
	VIRTUAL_ENV=$(VENV) $(UV) pip install -q --no-deps -e .
	@# Bytecode once, here: where PYTHONDONTWRITEBYTECODE is set (containers, CI) Python never
	@# caches it, and every dbt start would compile dbt from source again (about twice the
	@# start time). compileall, not uv's --compile-bytecode, which skips what is already
	@# installed; failures ignored: a few packages ship Python 2 files nothing imports.
	$(PY) -c 'import compileall, sys; compileall.compile_dir(sys.argv[1], quiet=2, workers=0)' $(VENV)/lib
	rm -f $(VENV)/.installed-*
	touch $@

# command:debian-package pairs; only what is missing gets installed.
SYSTEM_NEEDS := initdb:postgresql java:openjdk-17-jdk-headless mvn:maven chromium:chromium

system: ## Install the Debian packages the services and tests need, if missing
	@missing=""; \
	for pair in $(SYSTEM_NEEDS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  if ! command -v $$cmd >/dev/null && ! ls /usr/lib/postgresql/*/bin/$$cmd >/dev/null 2>&1; then missing="$$missing $$pkg"; fi; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "need root (or sudo) to install:$$missing" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

manifest: venv ## Compile the dbt manifests the Airflow DAGs render from (no database needed)
	$(LENDFLOW) compile-manifest --target postgres
	$(LENDFLOW) compile-manifest --target spark

airflow-run: manifest ## Run the pipeline through the Airflow DAG lending_elt (dag.test, in-process)
	$(LENDFLOW) up -s postgres -s kafka
	$(LENDFLOW) airflow-run lending_elt --no-compile-first

up: venv ## Start the local services
	$(LENDFLOW) up

down: ## Stop the local services
	$(LENDFLOW) down

status: ## Show the services and their addresses
	$(LENDFLOW) status

lint: venv docs ## ruff (lint + format check), mypy, the import layers (lint-imports), the docs site in strict mode
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Strict: a broken link or anchor in docs/ fails the build, and so `make lint` and CI.
docs: venv ## Build the docs site (MkDocs) into site/, failing on any broken link
	@# Not --quiet: it hides warnings from the count strict mode fails on.
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d site

format: venv ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lock: ## Re-resolve requirements.lock from pyproject.toml
	$(PY) -m pip install -q uv==$(UV_VERSION)
	$(UV) pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean: down ## Stop services and remove all local state (the venv stays)
	rm -rf .lendflow dbt_project/target dbt_project/logs site
