# fraudstream — every target installs what it needs first (idempotent, quick when done).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FRAUDSTREAM_HOME ?= $(CURDIR)/.state
STAMP := $(VENV)/.installed
EXTRAS ?= dev,train

.PHONY: install jars test test-unit demo lint schemas bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	@touch $(STAMP)

jars: install
	$(BIN)/fraudstream kafka fetch

test: install jars
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/unit

demo: install jars
	$(BIN)/fraudstream demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

schemas: install
	$(BIN)/fraudstream schemas export

clean:
	rm -rf $(VENV) build *.egg-info
