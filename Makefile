# Two commands for a newcomer: `make demo` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo serve test bench lint format system-deps saml-deps node-deps pg-deps clean

demo: $(STAMP) saml-deps
	$(BIN)/python -m devstack

# Production mode: gunicorn (SERVE_WORKERS sync workers per app, bound to SERVE_HOST), the demo org
# seeded, demo controls off (SERVE_DEMO_CONTROLS=1 turns them on). See `python -m devstack --help`.
serve: $(STAMP) saml-deps
	$(BIN)/python -m devstack --serve

test: $(STAMP) system-deps node-deps pg-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The load generator is Debian's wrk (C, epoll): a Python client cannot drive 16 connections at
# thousands of requests a second on 2 cores. Installed here as root when missing.
bench: $(STAMP) saml-deps
	@command -v wrk >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "bench: installing Debian's wrk"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
		else echo "bench: wrk is missing (apt-get install wrk)"; exit 1; fi; }
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The virtual env is rebuilt only when the dependencies change.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Outside Python the tests need a Chromium (Playwright cannot download its own browsers here),
# xmlsec1 (pysaml2, the independent SAML service provider in the interop tests) and wrk (the
# benchmark's load generator, for tests/bench's smoke run). As root with
# apt-get they are installed from Debian's packages; otherwise Playwright's Chromium is used.
system-deps: $(STAMP)
	@missing=""; \
	if [ -z "$$CHROMIUM_PATH" ] && [ ! -x /usr/bin/chromium ]; then missing="$$missing chromium"; fi; \
	command -v xmlsec1 >/dev/null 2>&1 || missing="$$missing xmlsec1"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	if [ -z "$$missing" ]; then \
		echo "system-deps: chromium, xmlsec1 and wrk present"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "system-deps: installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "system-deps: cannot install$$missing without root and apt-get"; \
		case "$$missing" in *chromium*) $(BIN)/python -m playwright install chromium;; esac; \
	fi

# SAML (the portal's SP with PORTAL_LOGIN_PROTOCOL=saml, on pysaml2) needs xmlsec1 at run time.
saml-deps:
	@if command -v xmlsec1 >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "saml-deps: installing Debian's xmlsec1"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null; \
	else echo "saml-deps: xmlsec1 is missing; SAML login needs it (apt-get install xmlsec1)"; fi

# PostgreSQL's server for the tests that run the apps on it as well as on SQLite (tests/conftest.py
# starts a throwaway cluster from its binaries, or uses TEST_POSTGRES_URL). As root with apt-get
# it is installed from Debian's packages; elsewhere those tests are skipped, but never on CI.
PG_FOUND := command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
pg-deps:
	@if $(PG_FOUND); then \
		echo "pg-deps: PostgreSQL present"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "pg-deps: installing Debian's postgresql"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
		echo "pg-deps: PostgreSQL is missing; its tests will be skipped (apt-get install postgresql)"; \
	fi
	@if [ "$$CI" = true ] && ! ( $(PG_FOUND) ); then \
		echo "pg-deps: CI needs PostgreSQL for its tests, and it could not be installed"; exit 1; \
	fi

# jsforce for tests/mock_sf/test_jsforce.py, from its lock file (the .npmrc keeps registry URLs
# out of it); reinstalled only when the lock file changes. Without npm that test is skipped.
JSFORCE := tests/clients/jsforce
node-deps:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "node-deps: npm is missing; tests/mock_sf/test_jsforce.py will be skipped (apt-get install npm)"; \
	elif [ ! -f $(JSFORCE)/node_modules/.installed ] || [ $(JSFORCE)/package-lock.json -nt $(JSFORCE)/node_modules/.installed ]; then \
		echo "node-deps: npm ci in $(JSFORCE)"; \
		(cd $(JSFORCE) && npm ci --no-audit --no-fund --loglevel=error) && touch $(JSFORCE)/node_modules/.installed; \
	fi

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache test-results *.egg-info
