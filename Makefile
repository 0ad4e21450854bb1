# minxin — two commands on a fresh machine: `make run` (demo city on SQLite) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_HOUSEHOLDS ?= 20000
DEMO_SEED ?= 2012
export MINXIN_DATABASE_URL ?= sqlite:///minxin.db

.PHONY: run test lint typecheck venv dev-venv bench clean

$(BIN)/minxin: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/minxin

venv: $(BIN)/minxin

run: venv
	$(BIN)/minxin init
	$(BIN)/minxin demo --households $(DEMO_HOUSEHOLDS) --seed $(DEMO_SEED) --if-missing
	$(BIN)/minxin serve

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy src  # all of src/, whatever packages it holds

test: venv lint typecheck
	$(BIN)/pytest -q

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) minxin.db minxin.db-wal minxin.db-shm
