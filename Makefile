# Two entry points for a newcomer: `make run` and `make test`.
# Each creates (or refreshes) the local virtual environment .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint venv clean app

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/sim compare --all-policies

test: $(STAMP)
	$(BIN)/ruff check sim tests
	$(BIN)/python -m pytest -q -n auto --dist loadfile

app: $(STAMP)
	$(BIN)/sim app

lint: $(STAMP)
	$(BIN)/ruff check sim tests

clean:
	rm -rf $(VENV) results/*/
