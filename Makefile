# alert-intel: every target installs what it needs first, so `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_FLAGS := --quiet --disable-pip-version-check
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install demo test test-unit test-integration test-statemachine test-infrastructure test-eval lint format bench synth clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[chat,cdk,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/alert-intel demo

test: $(STAMP)
	$(BIN)/python -m pytest

# One suite at a time, cheapest first (the whole suite is `make test`).
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/architecture

test-integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

test-statemachine: $(STAMP)
	$(BIN)/python -m pytest tests/statemachine

test-infrastructure: $(STAMP)
	$(BIN)/python -m pytest tests/infrastructure

test-eval: $(STAMP)
	$(BIN)/python -m pytest tests/eval

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions cdk tests
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m functions.local_runner.bench

synth: $(STAMP)
	$(BIN)/python -m cdk.packaging.build_layers || echo "warning: layers not built (offline?): synth uses placeholders"
	$(BIN)/python cdk/app.py -c env=$(or $(CDK_ENV),dev) -c layers=auto

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache
