# The two commands of the README's quick start: `make up` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: up test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,train]"
	touch $@

## Install and bring up the whole system on the embedded broker and Temporal server.
up: $(VENV)/.installed
	$(BIN)/python -m workers up

## Install what the tests need (Debian's chromium included) and run the whole suite.
test: $(VENV)/.installed-test
	./.ci/install-system-packages
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.passthrough

clean:
	rm -rf $(VENV) .state
