# skillpath — see README.md. Every target creates .venv itself when it is missing.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/data/dagster
# dagster-dbt looks for the dbt executable on PATH
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install demo run test lint format ui mlflow notebook notebooks bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/skillpath prepare
	@touch $(STAMP)

# one training thread: the demo gives the same model, figures and publication every time;
# the commands print their own progress (and the path of their log), so make does not echo them
demo: install
	@$(BIN)/skillpath sample
	@SKILLPATH_TRAIN_THREADS=1 $(BIN)/skillpath run

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

# no -m: dagster dev loads pyproject.toml's [tool.dagster], whose code location is "skillpath";
# umask 077: the Dagster processes' own files are the owner's only, like everything
# else under data/ (docs/privacy.md)
ui: install
	@umask 077 && mkdir -p $(DAGSTER_HOME)
	umask 077 && \
	$(BIN)/dagster dev -p 3000

mlflow: install
	$(BIN)/skillpath mlflow-ui

# the kernel starts in notebooks/: point it at this checkout's data/ unless set otherwise
notebook notebooks: export SKILLPATH_DATA_DIR ?= $(CURDIR)/data

$(VENV)/.notebooks: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,notebooks]'
	@touch $@

# JupyterLab on notebooks/, with this project's environment as the kernel; nothing fetched
# from the internet (no extension catalogue, update check or news feed); as root (a
# container) it has to be allowed explicitly
notebook: $(VENV)/.notebooks
	$(BIN)/jupyter lab --notebook-dir=notebooks --LabApp.extension_manager=readonly \
		--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate --LabApp.news_url=None \
		$(if $(filter 0,$(shell id -u)),--allow-root)

# every notebook executed headless, as the tests do (nbclient); the executed copies with
# their outputs go to data/notebooks/, the notebooks in git stay without outputs
notebooks: install
	@mkdir -p $(SKILLPATH_DATA_DIR)/notebooks
	@for nb in notebooks/*.ipynb; do \
		echo "executing $$nb"; \
		$(BIN)/jupyter execute --timeout=1200 \
			--output=$(SKILLPATH_DATA_DIR)/notebooks/$$(basename $$nb .ipynb) $$nb || exit 1; \
	done
	@echo "executed copies: $(SKILLPATH_DATA_DIR)/notebooks/"

bench: install
	$(BIN)/python -m pytest -m slow -p no:cacheprovider -o addopts="" tests/bench
	@echo "results: docs/benchmarks.md"

clean:
	rm -rf data .pytest_cache .ruff_cache dbt_project/target dbt_project/logs
