# make run  — create .venv, install, start http://127.0.0.1:7860 (SQLite in ./data)
# make test — install dev dependencies and run the whole suite (lint, types, layers, tests on 2 workers)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP     := $(VENV)/.dev-installed

.PHONY: run mock test lint format clean lock compose-up

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

run: $(RUNTIME_STAMP)
	$(BIN)/cryptoagg serve

mock: $(RUNTIME_STAMP)
	USE_MOCK_DATA=true $(BIN)/cryptoagg serve

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n 2 --dist loadfile

format: $(DEV_STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# two replicas behind nginx, with PostgreSQL and Redis (compose.yaml): http://localhost:8080
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
compose-up:
	$(COMPOSE) up --build

# regenerate constraints.txt from a fresh resolution of pyproject.toml
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet '.[dev]'
	.lock-venv/bin/pip freeze --exclude cryptoagg | grep -v '^-e' > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
