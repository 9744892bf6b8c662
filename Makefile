# Two commands do all set-up on a fresh machine:  make demo  |  make test
# Each target is idempotent: a second run installs nothing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FMNIST := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
FORTUNES := /usr/share/games/fortunes/fortunes
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export HF_HUB_OFFLINE := 1

STATIC_INDEX := src/compresslens/server/static/index.html
FRONTEND_SOURCES := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html \
	frontend/vite.config.ts frontend/package-lock.json
FRONTEND_STAMP := frontend/node_modules/.installed
API_SCHEMA := frontend/src/lib/api-schema.json
E2E_STAMP := tests/e2e/node_modules/.installed
NPM := npm --no-audit --no-fund --loglevel=error

.PHONY: demo test bench lint install data frontend api-types browser postgres clean

install: $(STAMP)

# Reinstall only when the dependency pins change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

# Fashion-MNIST from Debian's dataset-fashion-mnist (no download from a hub).
data: $(FMNIST) $(FORTUNES)
$(FMNIST):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dataset-fashion-mnist

# The demo language model's text: Debian's fortunes collections.
$(FORTUNES):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq fortunes

# Debian's PostgreSQL server for the store's tests (they start a throwaway server of their
# own with initdb + pg_ctl; the system cluster is never used). Debian puts the server
# binaries under /usr/lib/postgresql/<major>/bin (15 on bookworm).
PG_INITDB := $(or $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb)),/usr/lib/postgresql/15/bin/initdb)
postgres: $(PG_INITDB)
$(PG_INITDB):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql

# The Svelte front end, built into the package's static folder (rebuilt when sources change).
frontend: $(STATIC_INDEX)
$(STATIC_INDEX): $(FRONTEND_SOURCES) $(FRONTEND_STAMP)
	cd frontend && $(NPM) run build
$(FRONTEND_STAMP): frontend/package-lock.json
	cd frontend && $(NPM) ci
	@touch $(FRONTEND_STAMP)

# The front end's answer types, generated from the API's OpenAPI schema (both files are
# committed; `make test` fails when either is stale): run after changing a response model.
api-types: install $(FRONTEND_STAMP)
	$(BIN)/python -m compresslens.server.openapi_schema > $(API_SCHEMA).tmp
	mv $(API_SCHEMA).tmp $(API_SCHEMA)
	cd frontend && $(NPM) run api-types

# Debian's chromium and playwright-core for the end-to-end tests (never `playwright install`).
browser: /usr/bin/chromium $(E2E_STAMP)
/usr/bin/chromium:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium
$(E2E_STAMP): tests/e2e/package-lock.json
	cd tests/e2e && $(NPM) ci
	@touch $(E2E_STAMP)

demo: install data frontend
	$(BIN)/compresslens demo --workspace ./demo-workspace

test: install data frontend browser postgres
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	cd frontend && $(NPM) run check:api-types
	cd frontend && $(NPM) run check
	cd frontend && $(NPM) test
	$(BIN)/python -m pytest --durations=30

# Every benchmark, to the end; `uptime` before and after: other work on the cores slows them.
bench: install data frontend browser
	@uptime
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
	@echo "== benchmarks/bench_map_render.mjs"; node benchmarks/bench_map_render.mjs
	@uptime

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) demo-workspace frontend/node_modules tests/e2e/node_modules
	rm -rf src/compresslens/server/static
