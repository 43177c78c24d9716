# The same targets run on a laptop and in CI.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench codes clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cooptrack needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/cooptrack demo
	$(BIN)/cooptrack serve --public-read

# The suite in one worker per core (pytest-xdist), each test file whole in one worker so that its
# module fixtures are built once; `make test PYTEST_WORKERS=0` runs it in this process alone.
PYTEST_WORKERS ?= auto

test: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy

# Every benchmark writes its own section of bench/RESULTS.md (about 25 minutes in all).
bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/extraction/score.py
	$(BIN)/python bench/iati/run.py
	$(BIN)/python bench/trade/run.py
	$(BIN)/python bench/tabular/bench.py
	$(BIN)/python bench/web/run.py
	$(BIN)/python bench/team/run.py

codes: install
	$(BIN)/python scripts/build_codes.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache cooptrack.db cooptrack.db-wal cooptrack.db-shm
