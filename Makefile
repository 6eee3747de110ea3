# mftbot developer entry points. `make demo` and `make test` are the two README commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test install install-dev lint typecheck bench bench-peers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: $(BIN)/python requirements/runtime.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements/runtime.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements/dev.lock
	$(BIN)/pip install --quiet -r requirements/dev.lock
	touch $@

install: $(VENV)/.runtime

install-dev: $(VENV)/.dev

## The main job: paper trading over the recorded markets (or the synthetic market without them).
demo: install
	$(BIN)/mftbot demo

## The whole test suite, plus lint and type checks.
test: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install-dev
	$(BIN)/mypy

bench: install-dev
	$(BIN)/python benchmarks/bench_book.py
	$(BIN)/python benchmarks/bench_readers.py
	$(BIN)/python benchmarks/bench_indicators.py
	$(BIN)/python benchmarks/bench_book_features.py
	$(BIN)/python benchmarks/bench_features.py

## Backtest engine against backtesting.py and vectorbt (installs them in their own venv).
bench-peers: install
	bash benchmarks/setup_peers.sh
	benchmarks/.venv-peers/bin/python benchmarks/bench_backtest.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
