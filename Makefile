# Every chore is one command; `make` (or `make help`) lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-requirements-installed
DEV_STAMP := $(VENV)/.dev-requirements-installed
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
PORT ?= 5000
# Test files run in this many processes (pytest-xdist, a file's tests together): most of the suite
# waits on real servers and subprocesses, so two processes keep two cores busy.
TEST_WORKERS ?= 2

.PHONY: help venv dev-venv run test lint fmt migrate verify-migrations worker beat web

help: ## List the commands
	@awk 'BEGIN {FS = ":.*## "; print "Usage: make <command>\n"} \
		/^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: $(RUN_STAMP) ## Create .venv with what running needs, and the `scraper` command (again only on changes)

dev-venv: $(DEV_STAMP) ## venv plus the test and lint tools (requirements-dev.txt)

# The runtime set only (requirements.txt), then this project itself, editable and without
# dependencies: that installs .venv/bin/scraper ([project.scripts]) and nothing else.
# --no-compile: Python compiles what it imports anyway; byte-compiling all of botocore costs seconds.
$(RUN_STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing dependencies into $(VENV) (about a minute the first time)..."
	@$(PIP) --no-compile -r requirements.txt
	@$(PIP) --no-deps --no-build-isolation --editable .
	@touch $@

$(DEV_STAMP): requirements-dev.txt $(RUN_STAMP)
	@echo "Installing the test tools into $(VENV) (a few minutes the first time)..."
	@$(PIP) -r requirements-dev.txt
	@touch $@

run: venv ## Run API + worker + demo shop on the embedded default (SQLite, file broker, local storage) until Ctrl-C
	@$(BIN)/python -m backend.devserver

test: dev-venv ## Run the whole test suite (real Postgres/Redis on loopback; see README)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

lint: dev-venv ## ruff check + ruff format --check + mypy (backend/ and worker/)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: dev-venv ## Apply ruff's safe fixes and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: venv ## alembic upgrade head on DATABASE_URL (default: the embedded SQLite file)
	$(BIN)/alembic upgrade head

verify-migrations: venv ## One head, database at head, every model table/column/index present
	$(BIN)/python -m backend.verify_migrations

worker: venv ## A Celery worker: celery -A worker worker
	$(BIN)/celery -A worker worker --loglevel INFO

beat: venv ## The periodic sweeps: celery -A worker beat
	@mkdir -p var
	$(BIN)/celery -A worker beat --loglevel INFO --schedule var/celerybeat-schedule

web: venv ## The API under gunicorn on 127.0.0.1, port PORT (default 5000)
	$(BIN)/gunicorn 'backend:create_app()' --config gunicorn.conf.py --bind 127.0.0.1:$(PORT)
