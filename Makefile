# One command each: install, run a sample sync on the embedded LOCAL default, run every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test lint unit bench clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

# Azurite (Azure Blob Storage) for the integration tests, from npm.
node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

demo: $(VENV)/.installed
	rm -rf demo-output
	$(VENV)/bin/destination-databricks write \
	  --config integration_tests/sample/config_local.json \
	  --catalog integration_tests/sample/configured_catalog.json \
	  < integration_tests/sample/messages.jsonl
	$(PY) scripts/show_tables.py demo-output

# Each phase prints its wall time; the integration tests list their 20 slowest.
test: install lint
	@t=$$(date +%s); $(PY) -m pytest unit_tests; rc=$$?; echo "== unit tests: $$(( $$(date +%s) - t )) s"; exit $$rc
	@t=$$(date +%s); $(PY) -m pytest integration_tests --durations=20; rc=$$?; \
	  echo "== integration tests: $$(( $$(date +%s) - t )) s"; exit $$rc

# ruff (lint) and mypy (types) on the package: a new error fails `make test`, so CI.
lint: install
	$(VENV)/bin/ruff check destination_databricks
	$(VENV)/bin/mypy

unit: install
	$(PY) -m pytest unit_tests

clean:
	rm -rf $(VENV) node_modules demo-output .pytest_cache
