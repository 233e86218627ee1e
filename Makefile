# mlgov — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test venv dev-venv migrate seed serve worker beat lint format lock clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.base-installed: requirements/base.lock | $(VENV)/bin/activate
	$(PIP) install --quiet --require-hashes -r requirements/base.lock
	touch $@

$(VENV)/.dev-installed: requirements/dev.lock requirements/schema-only.lock | $(VENV)/bin/activate
	$(PIP) install --quiet --require-hashes -r requirements/dev.lock
	$(PIP) install --quiet --no-deps --require-hashes -r requirements/schema-only.lock
	touch $(VENV)/.base-installed $@

venv: $(VENV)/.base-installed
dev-venv: $(VENV)/.dev-installed

migrate: venv
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## Serve the demo on http://$(HOST):$(PORT) (SQLite, tasks in-process unless env says otherwise).
## Quiet: it prints the address, the demo logins and what is waiting for each; static files
## are collected only when they changed (manage.py refresh_static).
run: venv
	@echo "Preparing mlgov: database, demo data and static files..."
	@$(PY) manage.py migrate --noinput --verbosity 0
	@$(PY) manage.py seed_demo --verbosity 0
	@$(PY) manage.py refresh_static --verbosity 0
	@$(PY) manage.py demo_logins --url http://$(HOST):$(PORT)
	@DJANGO_RUNSERVER_HIDE_WARNING=true $(PY) manage.py runserver --skip-checks $(HOST):$(PORT)

## Whole test suite. Uses PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set. Two pytest-xdist
## workers, each module or group of modules on one of them (tests/conftest.py). PYTEST_ARGS= runs serially.
PYTEST_ARGS ?= -n 2
test: dev-venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

## A Celery worker consuming QUEUES (comma-separated), every queue by default:
## `make worker QUEUES=reports` takes only report jobs (README, "Scaling out").
comma := ,
QUEUES ?= default,ingestion,reports,drift,notifications
WORKER_NAME ?= $(subst $(comma),-,$(QUEUES))
worker: venv
	$(VENV)/bin/celery -A mlgov worker --loglevel=INFO --prefetch-multiplier=1 \
		-Q $(QUEUES) -n $(WORKER_NAME)@%h

beat: venv
	$(VENV)/bin/celery -A mlgov beat --loglevel=INFO

lint: dev-venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: dev-venv
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

## Re-resolve the lock files (needs network access to PyPI).
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes -o requirements/base.lock
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes -o requirements/dev.lock

clean:
	rm -rf $(VENV) .pytest_cache staticfiles
