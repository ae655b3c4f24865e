# skillpath — see README.md. Every target creates .venv itself when it is missing.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/data/dagster
# dagster-dbt looks for the dbt executable on PATH
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install demo run test lint format ui mlflow bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/skillpath prepare
	@touch $(STAMP)

# one training thread: the demo gives the same model, figures and publication every time
demo: install
	$(BIN)/skillpath sample
	SKILLPATH_TRAIN_THREADS=1 $(BIN)/skillpath run

run: install
	$(BIN)/skillpath run

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

ui: install
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -m orchestration.definitions -p 3000

mlflow: install
	$(BIN)/skillpath mlflow-ui

bench: install
	$(BIN)/python -m pytest -m slow -p no:cacheprovider -o addopts="" tests/bench
	@echo "results: docs/benchmarks.md"

clean:
	rm -rf data .pytest_cache .ruff_cache dbt_project/target dbt_project/logs
