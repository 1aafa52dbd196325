# Two commands for a newcomer: `make demo` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format chromium clean

demo: $(STAMP)
	$(BIN)/python -m devstack

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

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

# Playwright cannot download its own browsers here: prefer Debian's chromium, else Playwright's.
chromium: $(STAMP)
	@if [ -n "$$CHROMIUM_PATH" ] && [ -x "$$CHROMIUM_PATH" ]; then \
		echo "chromium: using $$CHROMIUM_PATH"; \
	elif [ -x /usr/bin/chromium ]; then \
		echo "chromium: using /usr/bin/chromium"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "chromium: installing Debian's chromium package"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "chromium: no system Chromium, installing Playwright's"; \
		$(BIN)/python -m playwright install chromium; \
	fi

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache test-results *.egg-info
