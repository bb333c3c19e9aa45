# The two commands of the README's quick start: `make up` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: up test bench demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# Apache Kafka's jars, from Maven Central through workers/kafka/pom.xml (skipped, saying so,
# without Java 17+ and Maven: the embedded broker is then tansu).
$(VENV)/.installed-kafka: workers/kafka/pom.xml | $(VENV)/.installed
	$(BIN)/python -m workers install-kafka
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,train]"
	touch $@

$(VENV)/.installed-plot: pyproject.toml | $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[plot]"
	touch $@

## Install and bring up the whole system on the embedded broker and Temporal server.
up: $(VENV)/.installed $(VENV)/.installed-kafka
	$(BIN)/python -m workers up

## Install what the tests need (Debian's chromium included) and run the whole suite.
test: $(VENV)/.installed-test $(VENV)/.installed-kafka
	./.ci/install-system-packages
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

## Install (with the plot extra) and watch the analyzer scale out and back in, about five minutes.
demo: $(VENV)/.installed-plot $(VENV)/.installed-kafka
	$(BIN)/python -m workers demo

bench: $(VENV)/.installed-test $(VENV)/.installed-kafka
	$(BIN)/python -m bench.passthrough

clean:
	rm -rf $(VENV) .state
