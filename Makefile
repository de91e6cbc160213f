# Two commands for a newcomer: `make run` (demo on SQLite: web + scheduler) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-clock lint install clean-demo

# `make run` serves the pages and starts the scheduler as a child process.
SERVE_FLAGS ?= --with-scheduler

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Demo: SQLite database under var/, invented data, web server (and scheduler) on :8000.
run: $(STAMP)
	$(BIN)/suivi demo
	@echo ""
	@echo "  Suivi : http://127.0.0.1:8000/   (API : http://127.0.0.1:8000/docs)"
	@echo "  Comptes de démonstration (mot de passe « demo ») :"
	@echo "    admin@example.org · chef@example.org · partenaire@example.org · copil@example.org · citoyen@example.org"
	@echo "  Pages publiques : http://127.0.0.1:8000/public"
	@echo ""
	$(BIN)/suivi serve $(SERVE_FLAGS)

## The tests run on PYTEST_WORKERS processes (pytest-xdist), a test module per worker at a time
## (`--dist loadfile`, so a module's fixtures are built once); PYTEST_WORKERS=0 runs them in one.
PYTEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

## Ruff, the import contracts (docs/architecture.md), mypy (the progress engine, the services,
## scoping: [tool.mypy] in pyproject.toml), then the tests on SQLite (and PostgreSQL when
## SUIVI_TEST_POSTGRES_URL is set).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

## The date-sensitive tests (marker `clock`) under libfaketime (Debian's `faketime`) at instants
## that broke or could break them, on SQLite, without the browser. Paris time, given in UTC
## because 02:30 on 2027-03-28 does not exist in Paris: 01:30 UTC is the minute the clocks
## jump from 02:00 to 03:00. The monotonic clock stays real: glibc's timed waits compare a
## faked monotonic deadline with the real one and would sleep for years.
CLOCK_INSTANTS_UTC := 2026-12-01T02:49:00 2026-12-31T22:30:00 2027-03-28T01:30:00 \
	2028-02-29T11:00:00 2030-12-31T22:59:00
CLOCK_PYTEST_ARGS ?= -q -p no:cacheprovider -m "clock and not browser and not slow"
# One process per instant: xdist workers would each rebuild the demo under faketime (measured:
# 3 min 05 s an instant with two workers, 2 min 15 s in one process).

test-clock: $(STAMP)
	@command -v faketime >/dev/null || { echo "faketime manquant : apt-get install faketime"; exit 2; }
	@for instant in $(CLOCK_INSTANTS_UTC); do \
	  echo "== horloge au $$instant UTC ($$(TZ=Europe/Paris date -d "$${instant}Z" '+%F %R %Z'))"; \
	  TZ=UTC faketime "$$(echo $$instant | tr T ' ')" env TZ=Europe/Paris SUIVI_TEST_POSTGRES_URL= \
	    FAKETIME_DONT_FAKE_MONOTONIC=1 \
	    $(BIN)/python -m pytest $(CLOCK_PYTEST_ARGS) || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean-demo:
	rm -rf var/
