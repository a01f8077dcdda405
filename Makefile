# Two entry points for a fresh machine: `make demo` and `make test`. Everything else they need is
# installed on the way: system packages (PostgreSQL/PostGIS, Chromium) and the locked Python env.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export TERRITOIRE_HOME ?= $(CURDIR)/var

.PHONY: demo test install system bytecode lint bench dev clean cluster-demo

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q "uv==$(UV_VERSION)"

# Bytecode compiled once here, as a production image does (UV_COMPILE_BYTECODE): with the machine's
# PYTHONDONTWRITEBYTECODE=1, every `territoire` process (and the run's helper) would otherwise compile
# Dagster, pandas and great-expectations from source at each start, seconds each time.
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra dev --extra deploy --compile-bytecode --python $(PYTHON)
	touch $@

# The platform's own modules (an editable install: uv compiles only site-packages); a no-op for files
# unchanged since, and stale bytecode is never read (Python checks each source's mtime).
bytecode: $(VENV)/.installed
	$(BIN)/python -m compileall -q -j 0 assets pipelines resources quality portal deploy bench

system:
	./scripts/install-system.sh

# The portal's front-end assets (Swagger UI), from the npm registry through the lock file; served by
# the portal itself, never from a CDN. --ignore-scripts: no install script phones home.
portal/static/node_modules/.installed: portal/static/package.json portal/static/package-lock.json
	npm ci --prefix portal/static --ignore-scripts --no-audit --no-fund
	touch $@

install: system $(VENV)/.installed bytecode portal/static/node_modules/.installed

demo: install
	$(BIN)/territoire demo
	$(BIN)/territoire run --history

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench
	$(BIN)/python -m bench.cli_start

# The demo territory on Dagster's distributed engine: daemon, PostgreSQL instance, two Celery workers
# each in its own network namespace (root; see deploy/cluster_demo.py). socat relays the loopback-only
# broker and PostgreSQL onto the workers' bridge.
cluster-demo: install
	command -v socat >/dev/null || (apt-get update -q && apt-get install -y -q socat)
	$(BIN)/python -m deploy.cluster_demo

dev: install
	$(BIN)/territoire dev

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	$(BIN)/python -c "from resources.postgres_server import stop_server; from pathlib import Path; stop_server(Path('$(TERRITOIRE_HOME)'))" || true
	rm -rf $(TERRITOIRE_HOME)
