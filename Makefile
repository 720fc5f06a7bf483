# OpenILP developer commands. Two do all set-up on a fresh machine: `make demo` and `make test`.
# Each creates .venv, installs the package with its dependencies and builds the front-end assets.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ASSETS := openilp/web/static/vendor/leaflet/leaflet.js
DEMO_DIR ?= var/demo
PYTEST_ARGS ?=
# Test processes (pytest-xdist); each gets its own SQLite files and PostgreSQL database.
TEST_WORKERS ?= 2

.PHONY: install assets demo test test-fast bench fuzz lint format docs-cli clean

install: $(STAMP) $(ASSETS)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Front-end packages come from npm at build time (package-lock.json); the browser never fetches them.
assets: $(ASSETS)
$(ASSETS): package.json package-lock.json scripts/build_assets.py
	npm ci --no-audit --no-fund --loglevel=error
	$(PYTHON) scripts/build_assets.py

## Load the bundled St. Louis sample into an embedded database and serve the app on 127.0.0.1:8000.
demo: install
	OPENILP_DATA_DIR=$(DEMO_DIR) $(BIN)/openilp demo

## The whole test suite (SQLite; also PostgreSQL when OPENILP_TEST_DATABASE_URL is set).
test: install
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## Fuzz the JSON API from its OpenAPI schema (Schemathesis; > 10,000 requests, not part of make test).
## FUZZ_EXAMPLES sets the generated examples per operation and role (default 100).
fuzz: install
	$(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) fuzz

## Benchmarks: results in bench/results/*.json, summary in docs/benchmarks.md.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check openilp tests bench scripts
	$(BIN)/ruff format --check openilp tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format openilp tests bench scripts
	$(BIN)/ruff check --fix openilp tests bench scripts

## Regenerate docs/cli.md from the real --help output.
docs-cli: install
	$(BIN)/python scripts/gen_cli_docs.py

clean:
	rm -rf $(VENV) node_modules openilp/web/static/vendor var .pytest_cache .mypy_cache .ruff_cache
