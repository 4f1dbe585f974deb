# htx-data — the two set-up commands (README): `make demo` and `make test`.
# Both create the virtual environment from the pinned requirements on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
# Test processes (pytest-xdist): CI and the reference machine have two cores.
TEST_WORKERS ?= 2
export PYTHONPATH := $(CURDIR)/plugins

.PHONY: demo test up migrate bench clean export

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

## demo: run every DAG once over the bundled sample and print the period's indicators
demo: $(VENV)/.installed
	$(PY) -m htx demo

## test: the whole suite against a real local PostgreSQL and real Airflow runs
test: $(VENV)/.installed
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests
	$(PY) -m pytest -q bench/tests  # its own conftest: a run of its own

## up: Airflow UI and scheduler on http://127.0.0.1:8080 against the local warehouse
up: $(VENV)/.installed
	$(PY) -m htx up

## migrate: apply the warehouse migrations (to htx_warehouse, or the local server)
migrate: $(VENV)/.installed
	$(PY) -m htx migrate

## export: one period's XLSX tables and HTML report from the marts (START=… END=…, ISO dates)
export: $(VENV)/.installed
	$(PY) -m htx export $(if $(START),--start $(START)) $(if $(END),--end $(END))

## bench: the ingest and parse-time benchmarks, written to bench/results.md (BENCH_ROWS=… to choose sizes);
## the peers measured beside the ingest (bench/peers.py: pandas, dlt) run in their own venv,
## bench/.venv (bench/requirements.txt), so that their packages never change the runtime's
## (dlt brings orjson, which plotly then uses for the reports' charts)
BENCH_ROWS ?= 1000000 10000000
BENCH_VENV := bench/.venv
$(BENCH_VENV)/.installed: bench/requirements.txt constraints.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt -c constraints.txt
	touch $@

bench: $(VENV)/.installed $(BENCH_VENV)/.installed
	$(PY) bench/run.py
	$(PY) bench/national.py --rows $(BENCH_ROWS)

## clean: stop the local PostgreSQL and delete local state (.local/)
clean:
	-$(PY) -c "from htx.dev import localpg; localpg.stop()"
	rm -rf .local
