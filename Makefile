# Shanyraq: `make demo` runs the platform with demo data; `make test` runs the test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export PORT

.PHONY: demo test test-e2e lint check assets messages openapi clean install

$(VENV)/.base: requirements/base.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/base.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

src/shanyraq/static/dist/shanyraq.css: node_modules/.installed frontend/main.scss frontend/_portal.scss frontend/build.mjs
	npm run --silent build

assets: src/shanyraq/static/dist/shanyraq.css

messages: $(VENV)/.base
	$(BIN)/python -m shanyraq.config.messages

install: $(VENV)/.base assets messages

demo: install
	$(BIN)/shanyraq demo

test: $(VENV)/.dev assets messages
	@if [ -x /usr/bin/chromium ] || [ -n "$$CHROMIUM_PATH" ]; then :; else \
		echo "NOTE: Chromium was not found (/usr/bin/chromium): the browser tests (tests/e2e) will be skipped. Install Debian's chromium to run them."; fi
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

check: lint
	DJANGO_SETTINGS_MODULE=shanyraq.config.settings.test $(BIN)/python -m django makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=shanyraq.config.settings.test $(BIN)/python -m django openapi --check

openapi: $(VENV)/.dev
	DJANGO_SETTINGS_MODULE=shanyraq.config.settings.test $(BIN)/python -m django openapi

clean:
	rm -rf $(VENV) node_modules src/shanyraq/static/dist var
