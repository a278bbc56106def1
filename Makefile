# Berth: `make run` starts everything, `make test` runs the whole suite.
# Both install what is missing first (Debian packages as root, a .venv, Python deps).

SHELL := /bin/bash
PYTHON := $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Debian packages Berth runs on: binary to look for = package that provides it.
APT_NEEDS := redis-server:redis-server haproxy:haproxy dockerd:docker.io chromium:chromium \
             busybox:busybox-static git:git debootstrap:debootstrap docker-registry:docker-registry \
             htpasswd:apache2-utils wrk:wrk ip:iproute2 nsenter:util-linux
REQ_STAMP := $(VENV)/.installed-$(shell cat requirements.txt 2>/dev/null | md5sum | cut -c1-12)

.PHONY: run test deps apt venv migrate lint clean

run: deps migrate
	@$(PY) manage.py collectstatic --noinput -v0
	@$(PY) manage.py ensure_admin
	@exec $(PY) manage.py runall

test: deps lint
	@$(PY) manage.py check --fail-level WARNING
	@$(PY) manage.py makemigrations --check --dry-run > /dev/null || { echo "models changed without a migration: run manage.py makemigrations"; exit 1; }
	@$(VENV)/bin/pytest $(PYTEST_ARGS)

deps: apt venv

apt:
	@missing=""; for pair in $(APT_NEEDS); do bin=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$bin >/dev/null 2>&1 || test -x /usr/sbin/$$bin || missing="$$missing $$pkg"; done; \
	  $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing (run as root or install them)"; exit 1; fi; \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi

venv: $(REQ_STAMP) $(VENV)/bin/berth

# The `berth` command-line client, run from this checkout.
BERTH_CLI_FILES := $(wildcard berth_cli/*.py berth_cli/commands/*.py)
$(VENV)/bin/berth: $(BERTH_CLI_FILES) $(REQ_STAMP)
	@printf '#!/bin/sh\nPYTHONPATH="%s$${PYTHONPATH:+:$$PYTHONPATH}" exec "%s/$(VENV)/bin/python" -m berth_cli "$$@"\n' "$(CURDIR)" "$(CURDIR)" > $@
	@chmod +x $@

# The same client as one file to copy to a laptop: `python3 berth.pyz --help`.
# `make berth.pyz PYZ=/some/where/berth.pyz` builds it elsewhere; it needs no venv.
PYZ ?= dist/berth.pyz
.PHONY: berth.pyz
berth.pyz: $(PYZ)
$(PYZ): $(BERTH_CLI_FILES)
	@rm -rf $@.src && mkdir -p $@.src
	@cp -R berth_cli $@.src/ && find $@.src -name __pycache__ -prune -exec rm -rf {} +
	@$(PYTHON) -m zipapp $@.src --compress -m 'berth_cli.__main__:entry' -p '/usr/bin/env python3' -o $@
	@rm -rf $@.src
	@echo "built $@: copy it anywhere and run python3 $(notdir $@) --help"

$(REQ_STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing Python dependencies into $(VENV)"
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

migrate: deps
	@mkdir -p var
	@$(PY) manage.py migrate --noinput -v0

# The lint gates: each one fails `make test`.
lint: deps
	@$(VENV)/bin/ruff check --quiet .
	@$(VENV)/bin/ruff format --check --quiet . || { echo "ruff format would change the files above: run .venv/bin/ruff format ."; exit 1; }
	@mkdir -p var; $(VENV)/bin/lint-imports --no-cache > var/lint-imports.log 2>&1 || { cat var/lint-imports.log; echo "the import contract is broken (docs/architecture.md)"; exit 1; }

clean:
	rm -rf var/staticfiles
