# Two entry points (see README): `make demo` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := build/sample
CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint bench bench-panel bench-audit screenshots pythonqt test-pythonqt fuzz fuzz-smoke clean

$(BIN)/affine-inspector: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench,slicer,gui,audit]"
	touch $@

demo: $(BIN)/affine-inspector
	rm -rf $(SAMPLE)
	mkdir -p $(dir $(SAMPLE))
	$(BIN)/affine-inspector sample $(SAMPLE)
	$(BIN)/affine-inspector inspect $(SAMPLE)

# Every test under CPython (Qt through PySide6), then the Qt-facing tests again inside the PythonQt host (Slicer's
# binding; built once into ~/.cache, see Testing/pythonqt/README.md). A skipped test fails either run.
test: lint $(CHROMIUM)
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-pythonqt

# The audit report test drives Debian's chromium (never a browser download): installed here when root.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing: run 'sudo apt-get install chromium' (the audit report test needs it)"; exit 1; fi

# ruff, then mypy on AffineInspectorLib (configured in pyproject.toml: [tool.mypy]).
lint: $(BIN)/affine-inspector
	$(BIN)/ruff check .
	$(BIN)/mypy

# In one process (scan, JSON, multi-frame), then whole commands against their peers, then the panel's first analysis.
bench: $(BIN)/affine-inspector
	$(BIN)/python benchmarks/bench_scan.py
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_panel.py

bench-panel: $(BIN)/affine-inspector
	$(BIN)/python benchmarks/bench_panel.py

bench-audit: $(BIN)/affine-inspector
	$(BIN)/python benchmarks/bench_audit.py

screenshots: $(BIN)/affine-inspector
	$(BIN)/python Screenshots/makeScreenshots.py

# The PythonQt host (Testing/pythonqt/README.md): built once into a cache outside the repository.
PYTHONQT_BUILD := $(BIN)/python Testing/pythonqt/buildHost.py
# The Qt-facing tests: run under both bindings by make test.
QT_TESTS := Testing/test_panel.py Testing/test_module.py Testing/test_slicerenv.py Testing/test_aligntab.py \
	Testing/test_conventionsview.py
# Tests run inside the host: the Qt-facing ones and the PythonQt facts; override to run others, e.g.
# make test-pythonqt PYTHONQT_TESTS=Testing/test_panel.py
PYTHONQT_TESTS ?= Testing/pythonqt $(QT_TESTS)

pythonqt: $(BIN)/affine-inspector
	$(PYTHONQT_BUILD)

test-pythonqt: $(BIN)/affine-inspector
	host=$$($(PYTHONQT_BUILD)) && QT_QPA_PLATFORM=offscreen "$$host" --venv $(VENV) -m pytest $(PYTHONQT_TESTS)

# Fuzz the command line (Testing/fuzz/README.md): make fuzz SEED=7 N=500. Failing cases stay in build/fuzz/seed-SEED.
SEED ?= 1
N ?= 200
fuzz: $(BIN)/affine-inspector
	$(BIN)/python Testing/fuzz/run.py --seed $(SEED) --count $(N) --jobs 2

# The fixed-seed smoke run (200 cases, about 80 s): also run by `make test` (Testing/fuzz/test_fuzz_smoke.py).
fuzz-smoke: $(BIN)/affine-inspector
	$(BIN)/python Testing/fuzz/run.py --smoke --jobs 2

clean:
	rm -rf $(VENV) build
