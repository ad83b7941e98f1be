# Two commands matter: `make run` and `make test`. Everything else is a step of theirs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint format types pytest openapi bench migrate demo clean

$(INSTALLED): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]'
	touch $@

## make run: install, migrate the embedded SQLite database, load demo data, serve on :8000
run: $(INSTALLED)
	$(BIN)/pds db upgrade
	$(BIN)/pds demo
	$(BIN)/pds serve

## make test: lint, types and the whole test suite
test: lint types pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

types: $(INSTALLED)
	$(BIN)/mypy

pytest: $(INSTALLED)
	$(BIN)/pytest

openapi: $(INSTALLED)
	$(BIN)/pds openapi

bench: $(INSTALLED)
	$(BIN)/python -m benchmarks

migrate: $(INSTALLED)
	$(BIN)/pds db upgrade

demo: $(INSTALLED)
	$(BIN)/pds demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
