# The two commands a newcomer needs: `make run` and `make test`.
# Only Python 3.11+ is assumed; uv is installed from PyPI into .tools/ if absent.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: env run test test-unit test-faults bench bench-directory schemas migration lint clean

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv>=0.5"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock shared/pyproject.toml $(wildcard services/*/pyproject.toml) $(wildcard tools/*/pyproject.toml)
	$(UV) sync --frozen --all-packages
	touch $@

env: $(VENV)/.synced

# axe-core, pinned, for the browser tests' accessibility audits (they skip without npm).
tests/browser/node_modules/.installed: tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null && touch $@; \
	else echo "npm not found: the browser tests will skip (in CI they fail)"; fi

run: env ## start NATS (embedded unless NATS_URL is set) and all four services
	$(PY) deploy/local/runner.py

test: env tests/browser/node_modules/.installed ## the import contracts (pyproject.toml), then the whole suite: unit, integration (real NATS, SQLite and PostgreSQL), browser (headless Chromium), e2e, fault injection (bounded size)
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/pytest

test-unit: env
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/pytest tests/unit

test-faults: env ## the fault-injection scenarios (tests/faults) at the sizes of issue 9; `make test` runs them smaller
	FAULTS_SCALE=$(or $(FAULTS_SCALE),full) $(VENV)/bin/pytest tests/faults -m faults

bench: env ## the hours ledger's commit rate next to bare nats-py (PostgreSQL too when POSTGRES_URL is set)
	$(PY) -m tests.bench.hours_throughput --events $(or $(EVENTS),50000)

bench-directory: env ## the directory's search and verification over HTTP with 100,000 listed specialists and 500 centers (SQLite; PostgreSQL too with POSTGRES_URL)
	$(PY) -m tests.bench.directory_search --specialists $(or $(SPECIALISTS),100000)

schemas: env ## regenerate the committed JSON Schemas and AsyncAPI documents
	$(PY) -m ips_shared.contracts.schemas docs/schemas
	for s in enrollment certification notifications directory; do \
	  $(VENV)/bin/ips-$$s asyncapi > docs/asyncapi/$$s.json; done

migration: env ## a new migration from the tables: make migration SERVICE=enrollment MESSAGE="add cohorts"
	$(PY) -c 'import sys; from pathlib import Path; from ips_shared.db import autogenerate_revision; \
	  autogenerate_revision(Path("services/$(SERVICE)/ips_$(SERVICE)/db/migrations"), sys.argv[1])' "$(MESSAGE)"

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-logo

clean:
	rm -rf $(VENV) .tools
