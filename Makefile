# The two commands a fresh clone needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ROOT ?= ./var

.PHONY: run test bench lint services clean-venv

$(BIN)/idxd: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/idxd
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/idxd
	$(BIN)/idxd run --root $(ROOT)

# Services the suite uses for real: PostgreSQL (throwaway clusters) and systemd-nspawn.
services:
	@bash tests/install-services.sh

test: $(VENV)/.test-deps services
	CI=$${CI:-} $(BIN)/pytest -n 2 -p no:cacheprovider tests

bench: $(VENV)/.test-deps
	$(BIN)/python -m tests.bench

lint: $(VENV)/.test-deps
	$(BIN)/ruff check daemon handlers tests
	$(BIN)/mypy

clean-venv:
	rm -rf $(VENV)
