# Two commands matter: `make run` and `make test`. Everything they need is installed here, at the exact
# versions of the lock files in requirements/ (regenerated from pyproject.toml by `make lock`):
# `make run`/`make serve` install only what the dashboard needs to run (requirements/runtime.txt);
# `make test`/`make bench` add the test and benchmark toolchain (requirements/dev.txt: the same runtime
# pins plus the `dev` extra) and the command-line checkers in their own environment, .venv-tools
# (requirements/tools.txt: checkov, parliament, schemathesis), so their pins never hold the runtime back.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS_VENV := .venv-tools
# `make lock` resolves with uv (fast, one universal lock for every platform and Python >= 3.11, reads
# pyproject's dependency groups); installing needs only pip. Pinned so every re-lock resolves alike.
UV_VERSION := 0.13.9
LOCKER := .cache/locker
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes -q
HOST ?= 127.0.0.1
PORT ?= 8000
LOCAL_KEY := .data/secret-key
# DynamoDB Local for `make run`; set DYNAMODB_ENDPOINT_URL= (empty) to use real AWS instead.
DYNAMODB_ENDPOINT_URL ?= http://127.0.0.1:8766
export DYNAMODB_ENDPOINT_URL

.PHONY: run serve test bench install install-dev install-tools lock system-deps lint format dynamodb-start dynamodb-stop clean infra infra-check

run: install
	$(PY) manage.py dynamodb_local start
	$(PY) manage.py create_tables
	$(PY) manage.py seed_demo --if-empty
	@echo "Dashboard: http://$(HOST):$(PORT)/ (alert rules evaluated every $${ALERTS_INTERVAL_SECONDS:-60} s in the server)"
	ALERTS_IN_PROCESS=$${ALERTS_IN_PROCESS:-true} $(PY) manage.py runserver $(HOST):$(PORT)

# Production mode on this machine: gunicorn + whitenoise, DEBUG off, plain HTTP (no TLS locally).
# Behind a load balancer set HOST=0.0.0.0, SECURE_SSL_REDIRECT=true and SECURE_COOKIES=true instead.
serve: install
	@# DynamoDB Local only when the endpoint is on this machine; on AWS, Terraform owns the tables.
	@case "$$DYNAMODB_ENDPOINT_URL" in http://127.0.0.1*|http://localhost*|http://\[::1\]*) \
	  $(PY) manage.py dynamodb_local start && $(PY) manage.py create_tables && \
	  $(PY) manage.py seed_demo --if-empty;; esac
	@echo "Dashboard (production mode): http://$(HOST):$(PORT)/ (alert rules: a run_alerts loop beside gunicorn)"
	SECRET_KEY="$${SECRET_KEY:-$$(cat $(LOCAL_KEY))}" \
	ALERTS_IN_PROCESS=$${ALERTS_IN_PROCESS:-true} DEBUG=false SECURE_SSL_REDIRECT=$${SECURE_SSL_REDIRECT:-false} SECURE_COOKIES=$${SECURE_COOKIES:-false} \
	  SECURE_HSTS_SECONDS=$${SECURE_HSTS_SECONDS:-0} HOST=$(HOST) PORT=$(PORT) \
	  $(VENV)/bin/gunicorn --config gunicorn.conf.py

# Terraform and IAM policies generated from the PynamoDB models (never edited by hand).
infra: install
	$(PY) manage.py generate_infra

infra-check: install
	$(PY) manage.py generate_infra --check

test: install-dev install-tools system-deps
	$(PY) -m ruff check .
	$(PY) manage.py generate_infra --check
	$(PY) -m pytest

bench: install-dev
	$(PY) -m bench

# DynamoDB Local fetched once; the vendor files pages use copied from node_modules; static files
# collected for whitenoise.
define fetch_and_collect
	@$(PY) manage.py dynamodb_local fetch
	@$(PY) manage.py vendor_static
	@SECRET_KEY="$${SECRET_KEY:-$$(cat $(LOCAL_KEY))}" DEBUG=false $(PY) manage.py collectstatic --noinput --clear -v 0
endef

# Production mode refuses the public development key: this machine gets a random one, made once, kept
# outside git (.data/ is ignored). Set SECRET_KEY in the environment to use another.
$(LOCAL_KEY):
	@mkdir -p $(dir $@)
	@umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

# Runtime only: what `make run` and `make serve` need.
install: $(VENV)/.installed node_modules/.installed $(LOCAL_KEY)
	$(fetch_and_collect)

# Runtime + the test/benchmark toolchain (pytest, Playwright, checkov, schemathesis, …).
install-dev: $(VENV)/.installed-dev node_modules/.installed $(LOCAL_KEY)
	$(fetch_and_collect)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

# Every file installed is checked against the lock's hashes (--require-hashes): a changed or
# substituted download stops the install. drain3 has its own hashed pin (requirements/drain3.txt: its
# only release pins old versions of its dependencies, so it goes in without them); then the project
# itself, without resolving anything again.
define install_locked
	$(VENV)/bin/pip install -q --require-hashes -r $(1)
	$(VENV)/bin/pip install -q --require-hashes --no-deps -r requirements/drain3.txt
	$(VENV)/bin/pip install -q --no-deps -e .
endef

$(VENV)/.installed: requirements/runtime.txt requirements/drain3.txt pyproject.toml | $(VENV)/bin/python
	$(call install_locked,requirements/runtime.txt)
	@touch $@

# dev.txt holds the runtime's pins too (runtime.txt is resolved within it), so it stamps both.
$(VENV)/.installed-dev: requirements/dev.txt requirements/drain3.txt pyproject.toml | $(VENV)/bin/python
	$(call install_locked,requirements/dev.txt)
	@touch $@ $(VENV)/.installed

# The checkers the tests run as commands (tests/tools.py finds them here).
install-tools: $(TOOLS_VENV)/.installed

$(TOOLS_VENV)/.installed: requirements/tools.txt
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install -q --upgrade pip
	$(TOOLS_VENV)/bin/pip install -q --require-hashes -r requirements/tools.txt
	@touch $@

# Regenerate the lock files from pyproject.toml (after adding or changing a dependency). dev first:
# the runtime lock is resolved within it, so the tests run on exactly the versions production runs.
# `make lock UPGRADE=1` moves every pin to the newest release the ranges allow.
lock: $(LOCKER)/bin/uv
	$(LOCKER)/bin/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) -o requirements/dev.txt
	$(LOCKER)/bin/uv pip compile pyproject.toml -c requirements/dev.txt $(LOCK_FLAGS) -o requirements/runtime.txt
	$(LOCKER)/bin/uv pip compile --group tools $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) -o requirements/tools.txt

$(LOCKER)/bin/uv:
	$(PYTHON) -m venv $(LOCKER)
	$(LOCKER)/bin/pip install -q 'uv==$(UV_VERSION)'

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed: install Node.js and npm (apt-get install -y npm)."; exit 1; }
	npm ci --no-audit --no-fund --silent
	@touch $@

# Debian packages the tests need: Chromium for the browser tests, Java for DynamoDB Local.
system-deps:
	@command -v chromium >/dev/null && command -v java >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    $$(command -v chromium >/dev/null || echo chromium) \
	    $$(command -v java >/dev/null || echo openjdk-17-jre-headless) >/dev/null; }

lint: install-dev
	$(PY) -m ruff check .

format: install-dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

dynamodb-start: install
	$(PY) manage.py dynamodb_local start

dynamodb-stop:
	$(PY) manage.py dynamodb_local stop

clean: dynamodb-stop
	rm -rf .data .cache
