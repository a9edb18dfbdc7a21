# Build, lint and test entry points. Needs only python3 (3.11+), node 20+ and npm on a fresh
# clone: `make test` creates .venv, installs the locked Python packages and runs `npm ci`.
# Stamp files record finished installs so repeated runs skip them until an input changes.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

PYTHON3 ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
PY_STAMP := $(VENV)/.installed.stamp
# slither-analyzer pins web3<8, so it gets a venv of its own instead of a conflict in ours.
SLITHER_VENV := .venv-slither
SLITHER_STAMP := $(SLITHER_VENV)/.installed.stamp
# Headless Chromium for tests/browser comes from Debian (Playwright's own browser download is
# never used). The binary is its own stamp: when it exists, nothing is installed.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
NPM_STAMP := node_modules/.installed.stamp

# Only the directories that exist: api/ and scripts/ arrive later, and the tools fail on
# missing paths.
LINT_DIRS := $(wildcard ledger api scripts tests)
TYPED_DIRS := $(wildcard ledger api)
PYTEST_ARGS ?=

.PHONY: install compile check-artifacts lint slither test run lock clean

install: $(PY_STAMP) $(NPM_STAMP)

$(PY):
	$(PYTHON3) -m venv $(VENV)

$(PY_STAMP): requirements.lock pyproject.toml | $(PY)
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -e .
	touch $@

# npm ci wipes node_modules first, taking the old stamp with it; a missing node_modules
# therefore also means a missing stamp and a reinstall.
$(NPM_STAMP): package-lock.json package.json
	npm ci --no-audit --no-fund
	touch $@

$(SLITHER_STAMP): requirements-slither.lock
	$(PYTHON3) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/python -m pip --disable-pip-version-check install -r requirements-slither.lock
	touch $@

# Static analysis of contracts/ (settings in slither.config.json: the solc-js shim, remappings,
# and test/reference contracts filtered out). Medium and high findings fail the build.
slither: $(SLITHER_STAMP) $(NPM_STAMP)
	$(SLITHER_VENV)/bin/slither contracts --fail-medium

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core

compile: install
	$(PY) -m ledger.compiler

check-artifacts: install
	$(PY) -m ledger.compiler --check

lint: install
	$(PY) -m ruff check $(LINT_DIRS)
	$(PY) -m mypy $(TYPED_DIRS)

test: install lint slither $(CHROMIUM)
	$(PY) -m pytest -q -n 2 $(PYTEST_ARGS) tests

run: install
	$(PY) scripts/run.py

# Re-pin requirements.lock to what is installed in .venv (after changing pyproject.toml).
lock: $(PY)
	$(PIP) install -e '.[dev]'
	{ echo "# Exact pins for .venv: runtime and dev tools. Regenerate with 'make lock'."; \
	  $(PY) -m pip freeze --exclude-editable; } > requirements.lock

clean:
	rm -rf $(VENV) $(SLITHER_VENV) node_modules build dist test-output .pytest_cache .mypy_cache .ruff_cache
	find . -path ./.git -prune -o -type d \( -name __pycache__ -o -name '*.egg-info' \) \
		-prune -exec rm -rf {} +
