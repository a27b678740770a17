# Two entry points (see README): `make demo` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := build/sample

.PHONY: demo test lint bench bench-panel screenshots pythonqt clean

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

# The PythonQt host (Testing/pythonqt/README.md): built once into a cache outside the repository.
PYTHONQT_BUILD := $(BIN)/python Testing/pythonqt/buildHost.py

pythonqt: $(BIN)/affine-inspector
	$(PYTHONQT_BUILD)

clean:
	rm -rf $(VENV) build
