# Two commands for a fresh machine with Python 3.11+ and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit fuzz soak bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/flowkit demo

# ruff (lint and format) and the import-linter contract of the layers (docs/architecture.md).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy --strict flowkit

unit: $(VENV)/.installed-dev
	$(BIN)/pytest

test: lint typecheck unit

# Longer runs of what `make test` runs with short budgets.
fuzz: $(VENV)/.installed-dev
	FLOWKIT_FUZZ_PROFILE=fuzz-long $(BIN)/pytest tests/fuzz -q

soak: $(VENV)/.installed-dev
	FLOWKIT_SOAK_SECONDS=60 $(BIN)/pytest tests/soak -q -s

# The benchmarks print ratios measured side by side in one run (docs/performance.md).
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/telemetry_vs_posthog.py
	$(BIN)/python benchmarks/scaling.py
	$(BIN)/python benchmarks/sqlite_workspace.py
	$(BIN)/python benchmarks/metrics_overhead.py

# Regenerate the events tables in docs/telemetry.md and docs/telemetry.es.md.
docs: $(VENV)/.installed
	$(BIN)/python docs/generate.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis

# A real Flowise 3.x (installed once into FLOWISE_CACHE, default /tmp/flowise-cache) and an
# OpenAI-compatible mock, both on 127.0.0.1, for tests/flowise; everything stops on exit.
.PHONY: test-flowise
test-flowise: $(VENV)/.installed-dev
	bash scripts/flowise/test-flowise.sh

# A real Prometheus (the Debian package, installed when missing) scraping a flowkit process,
# an OTLP/HTTP receiver, and 4 forked workers, all on 127.0.0.1, for tests/integration;
# everything the run starts is stopped on exit (tests/integration/run.sh).
.PHONY: test-integration
test-integration: $(VENV)/.installed-dev
	bash tests/integration/run.sh $(BIN)/pytest
