# mediamon: `make run` runs the demo end to end, `make test` runs the tests.
# Both bootstrap .venv from pyproject.toml on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

SUDO   := $(if $(filter 0,$(shell id -u)),,sudo -n)

.PHONY: run test lint airflow stop browser-deps bench bench-search bench-events bench-retention scale-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("mediamon needs Python 3.11+") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	# pip 23.2 crashes resolving trafilatura with readability-lxml (lxml[html-clean] extras bug).
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=24.2'
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## embedded Postgres + demo site + the mediamon_ingest DAG through Airflow
	$(BIN)/mediamon run

lint: $(STAMP)  ## ruff (style, bugs), mypy (types of the library), lint-imports (the import contracts in pyproject.toml)
	$(BIN)/ruff check plugins dags tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint browser-deps  ## the checks, then the whole test suite (real Postgres, real HTTP on 127.0.0.1, real Airflow)
	$(BIN)/python -m pytest

airflow: $(STAMP)  ## the Airflow UI (airflow standalone) on the same setup as `make run`
	$(BIN)/mediamon airflow

stop: $(STAMP)  ## stop the embedded PostgreSQL left running by `make run`
	$(BIN)/mediamon db stop

bench: $(STAMP)  ## throughput benchmark against bare trafilatura (PAGES=200 for a quick run); writes bench/results.json
	$(BIN)/python bench/run.py $(if $(PAGES),--pages $(PAGES))

bench-search: $(STAMP)  ## analyst.search vs LIKE at 100,000 articles, indexing cost per article; writes bench/search_results.json
	$(BIN)/python bench/search.py $(if $(ARTICLES),--articles $(ARTICLES)) $(if $(PAGES),--pages $(PAGES))

bench-events: $(STAMP)  ## event linking: a run with one new story vs a full relink (STORIES=20000); writes bench/events_results.json
	$(BIN)/python bench/events_bench.py $(if $(STORIES),--stories $(STORIES))

bench-retention: $(STAMP)  ## discover history retention: DELETE vs DROP of month partitions (ROWS=1000000); writes bench/retention_results.json
	$(BIN)/python bench/retention_bench.py $(if $(ROWS),--rows $(ROWS))

scale-check: $(STAMP)  ## 2 Celery workers + scheduler + api-server on 127.0.0.1 (the machine's Redis and Postgres)
	$(BIN)/python -m pip install --quiet -e '.[celery]'
	$(BIN)/python bench/scale_check.py

browser-deps:  ## Debian's chromium and a CJK font, for the report's browser check (skipped if apt is unavailable)
	@if [ -x /usr/bin/chromium ] && fc-list :lang=zh-cn 2>/dev/null | grep -q .; then \
		echo "chromium and a CJK font are installed"; \
	elif command -v apt-get >/dev/null; then \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk \
		|| echo "warning: could not install chromium; the browser checks will be skipped"; \
	else echo "warning: no apt-get; the browser checks will be skipped"; fi

clean:
	rm -rf .mediamon
