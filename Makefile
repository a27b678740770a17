# Two entry points (see README): `make demo` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := build/sample
CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint bench bench-panel bench-audit screenshots clean

$(BIN)/affine-inspector: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench,slicer,gui,audit]"
	touch $@

demo: $(BIN)/affine-inspector
	rm -rf $(SAMPLE)
	$(BIN)/affine-inspector sample $(SAMPLE)
	$(BIN)/affine-inspector inspect $(SAMPLE)

test: lint $(CHROMIUM)
	$(BIN)/python -m pytest

# The audit report test drives Debian's chromium (never a browser download): installed here when root.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing: run 'sudo apt-get install chromium' (the audit report test needs it)"; exit 1; fi

# ruff, then mypy on AffineInspectorLib (configured in pyproject.toml: [tool.mypy]).
lint: $(BIN)/affine-inspector
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(BIN)/affine-inspector
	$(BIN)/python benchmarks/bench_scan.py

bench-panel: $(BIN)/affine-inspector
	$(BIN)/python benchmarks/bench_panel.py

bench-audit: $(BIN)/affine-inspector
	$(BIN)/python benchmarks/bench_audit.py

screenshots: $(BIN)/affine-inspector
	$(BIN)/python Screenshots/makeScreenshots.py

clean:
	rm -rf $(VENV) build
