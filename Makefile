# Two entry points (see README): `make demo` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := build/sample

.PHONY: demo test lint bench bench-panel screenshots fuzz fuzz-smoke clean

$(BIN)/affine-inspector: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench,slicer,gui]"
	touch $@

demo: $(BIN)/affine-inspector
	rm -rf $(SAMPLE)
	$(BIN)/affine-inspector sample $(SAMPLE)
	$(BIN)/affine-inspector inspect $(SAMPLE)

test: $(BIN)/affine-inspector
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(BIN)/affine-inspector
	$(BIN)/ruff check .

bench: $(BIN)/affine-inspector
	$(BIN)/python benchmarks/bench_scan.py

bench-panel: $(BIN)/affine-inspector
	$(BIN)/python benchmarks/bench_panel.py

screenshots: $(BIN)/affine-inspector
	$(BIN)/python Screenshots/makeScreenshots.py

# Fuzz the command line (Testing/fuzz/README.md): make fuzz SEED=7 N=500. Failing cases stay in build/fuzz/seed-SEED.
SEED ?= 1
N ?= 200
fuzz: $(BIN)/affine-inspector
	$(BIN)/python Testing/fuzz/run.py --seed $(SEED) --count $(N) --jobs 2

# The fixed-seed smoke run (200 cases) that will join `make test` once the fixes land.
fuzz-smoke: $(BIN)/affine-inspector
	$(BIN)/python Testing/fuzz/run.py --smoke --jobs 2

clean:
	rm -rf $(VENV) build
