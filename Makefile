# The two commands a fresh clone needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ROOT ?= ./var

.PHONY: run test bench lint services ocr-data clean-venv dist

$(BIN)/idxd: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/idxd
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/idxd ocr-data
	$(BIN)/idxd run --root $(ROOT)

# What the daemon needs from the system besides Python: Tesseract's language data, for the
# OCR of scanned forms.
ocr-data:
	@bash tests/install-services.sh --ocr

# Services the suite uses for real: PostgreSQL (throwaway clusters), systemd-nspawn, Chromium,
# and the OCR's language data.
services:
	@bash tests/install-services.sh

test: $(VENV)/.test-deps services
	CI=$${CI:-} $(BIN)/pytest -n 2 -p no:cacheprovider tests

bench: $(VENV)/.test-deps services
	$(BIN)/python -m tests.bench

lint: $(VENV)/.test-deps
	$(BIN)/ruff check daemon handlers tests
	$(BIN)/mypy

# What a server needs, in one directory to copy there (README, "Install on a server"): the
# wheel, the systemd files and the SQL of the filings table. DIST names another directory.
DIST ?= dist
dist: $(BIN)/idxd
	rm -rf $(DIST) && mkdir -p $(DIST)/systemd $(DIST)/sql
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir $(DIST) .
	cp systemd/idxd.service systemd/idxd.sysusers systemd/idxd.tmpfiles systemd/idxd.env.example \
	  systemd/idxd-cli $(DIST)/systemd/
	cp handlers/sql/*.sql $(DIST)/sql/
	@ls $(DIST)/*.whl

clean-venv:
	rm -rf $(VENV)
