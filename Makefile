# ragboard: `make run` sets up and opens the dashboard on the sample data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test check setup browser clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "ragboard needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

# `status` creates the database from data/sample/ when there is none ($RAGBOARD_DB or data/).
run: setup
	$(PY) -m pipelines status --area Derbyshire
	@echo "Opening the dashboard on http://localhost:$(PORT) (Ctrl+C to stop)"
	$(PY) -m dashboard --port $(PORT)

# The browser tests drive Debian's Chromium (browsers cannot be downloaded here); the lake's tests
# start Debian's PostgreSQL in a temporary folder.
browser:
	@{ command -v chromium >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium poppler-utils postgresql; \
	  else echo "Install these first: sudo apt-get install -y chromium poppler-utils postgresql"; exit 1; fi; }

test: setup browser
	$(PY) -m pytest -q

check: setup
	$(VENV)/bin/ruff check pipelines dashboard tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) data/ragboard.duckdb data/ragboard.duckdb.wal .pytest_cache
