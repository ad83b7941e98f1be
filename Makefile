# Two commands matter: `make run` and `make test`. Everything else is a step of theirs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
GOVUK_DIST := node_modules/govuk-frontend/dist/govuk
GOVUK_STATIC := pds/web/static/govuk
ASSETS := $(GOVUK_STATIC)/.copied

.PHONY: run test lint format types pytest openapi bench migrate demo clean assets

$(INSTALLED): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]'
	touch $@

## GOV.UK Frontend for the dashboard: npm installs it, its built files are copied (not
## committed) into pds/web/static/govuk/, and the stylesheet's /assets/ URLs are pointed
## at where they are served (/static/govuk/assets/).
$(ASSETS): package.json $(wildcard package-lock.json)
	npm ci --no-audit --no-fund --silent 2>/dev/null || npm install --no-audit --no-fund --silent
	rm -rf $(GOVUK_STATIC)
	mkdir -p $(GOVUK_STATIC)
	cp -R $(GOVUK_DIST)/assets $(GOVUK_STATIC)/assets
	cp $(GOVUK_DIST)/govuk-frontend.min.js $(GOVUK_STATIC)/
	sed 's#url(/assets/#url(/static/govuk/assets/#g' $(GOVUK_DIST)/govuk-frontend.min.css \
		> $(GOVUK_STATIC)/govuk-frontend.min.css
	touch $@

assets: $(ASSETS)

## make run: install, migrate the embedded SQLite database, load demo data, serve on :8000
run: $(INSTALLED) $(ASSETS)
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

pytest: $(INSTALLED) $(ASSETS)
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
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis node_modules $(GOVUK_STATIC)
