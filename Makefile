# Every chore is one command; `make` (or `make help`) lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
PORT ?= 5000

.PHONY: help venv run test lint fmt migrate verify-migrations worker beat web

help: ## List the commands
	@awk 'BEGIN {FS = ":.*## "; print "Usage: make <command>\n"} \
		/^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: $(STAMP) ## Create .venv and install the pinned requirements (again only when they change)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

run: venv ## Run API + worker on the embedded default (SQLite, file broker, local storage) until Ctrl-C
	$(BIN)/python -m backend.devserver

test: venv ## Run the whole test suite (real Postgres/Redis on loopback; see README)
	$(BIN)/pytest

lint: venv ## ruff check + ruff format --check + mypy (backend/ and worker/)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: venv ## Apply ruff's safe fixes and format the code
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
