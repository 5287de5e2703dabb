# mediamon: `make run` runs the demo end to end, `make test` runs the tests.
# Both bootstrap .venv from pyproject.toml on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test airflow stop bench eval clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("mediamon needs Python 3.11+") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	# pip 23.2 crashes resolving trafilatura with readability-lxml (lxml[html-clean] extras bug).
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=24.2'
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## embedded Postgres + demo site + the mediamon_ingest DAG through Airflow
	$(BIN)/mediamon run

test: $(STAMP)  ## the whole test suite (real Postgres, real HTTP on 127.0.0.1, real Airflow)
	$(BIN)/python -m pytest

airflow: $(STAMP)  ## the Airflow UI (airflow standalone) on the same setup as `make run`
	$(BIN)/mediamon airflow

stop: $(STAMP)  ## stop the embedded PostgreSQL left running by `make run`
	$(BIN)/mediamon db stop

clean:
	rm -rf .mediamon
