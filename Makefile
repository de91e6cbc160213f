# Two commands for a newcomer: `make run` (demo on SQLite: web + scheduler) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean-demo

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
	@echo "    admin@example.org · chef@example.org · partenaire@example.org · copil@example.org"
	@echo ""
	$(BIN)/suivi serve $(SERVE_FLAGS)

## Tests on SQLite (and PostgreSQL when SUIVI_TEST_POSTGRES_URL is set), then ruff.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean-demo:
	rm -rf var/
