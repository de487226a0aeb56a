# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= examples/tocsin.yaml

.PHONY: run test lint typecheck unit install dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

# Starts a small local target (examples/target.py) and tocsin on the example config.
run: $(VENV)/.installed
	@$(BIN)/python examples/target.py --port 8099 & echo $$! > .target.pid; \
	trap 'kill $$(cat .target.pid) 2>/dev/null; rm -f .target.pid' EXIT INT TERM; \
	$(BIN)/tocsin serve --config $(CONFIG)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest -q tests/unit

# compileall: where PYTHONDONTWRITEBYTECODE is set, every `tocsin serve` a test starts would
# otherwise compile src/ again (~1 s of CPU each); bytecode written here is still read.
test: lint typecheck
	$(BIN)/python -m compileall -q src
	$(BIN)/pytest -q -n 2 -p no:cacheprovider

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/checks.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
