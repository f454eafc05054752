# Entry points for a fresh machine: `make run` (runtime only), `make test` (dev extras),
# `make regress` (the CI gate: benchmark scenarios against their baselines).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-run
DEV_STAMP     := $(VENV)/.installed-dev
SCENARIO ?= scenarios/default.yaml
OUT    ?= out/default
REGRESS_OUT ?= out/regress

.PHONY: run test venv lint bench accuracy regress clean

# Running needs only the package and its runtime dependencies.
$(RUNTIME_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

# Tests, lint and notebooks need the dev extras too.
$(DEV_STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

venv: $(DEV_STAMP)

# Numba kernels compiled (or loaded from the cache) first, so the run pays only the simulation.
run: $(RUNTIME_STAMP)
	$(BIN)/dcsim warmup
	$(BIN)/dcsim run $(SCENARIO) -o $(OUT) --force

test: $(DEV_STAMP)
	$(BIN)/ruff check simulator tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check simulator tests benchmarks
	$(BIN)/mypy

bench: $(DEV_STAMP)
	$(BIN)/python -m pytest -m benchmark benchmarks -s

accuracy: $(RUNTIME_STAMP)
	$(BIN)/python benchmarks/accuracy.py

# Re-run every scenarios/benchmarks/*.yaml and compare it with its baseline (exit 1 on a
# regression; JUnit XML per scenario under $(REGRESS_OUT)/junit/). See docs/ci.md.
regress: $(RUNTIME_STAMP)
	@set -e; status=0; mkdir -p $(REGRESS_OUT)/junit; \
	for f in scenarios/benchmarks/*.yaml; do \
	  name=$$(basename $$f .yaml); \
	  $(BIN)/dcsim run $$f -o $(REGRESS_OUT)/$$name --force --no-progress > /dev/null; \
	  $(BIN)/dcsim compare scenarios/benchmarks/baselines/$$name.json $(REGRESS_OUT)/$$name \
	    --junit $(REGRESS_OUT)/junit/$$name.xml || status=$$?; \
	done; exit $$status

clean:
	rm -rf $(VENV) out .pytest_cache
