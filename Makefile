# The two commands of the README:
#   make labs   runs every lab notebook in order on the default data, into outputs/
#   make test   runs ruff, mypy (configured in pyproject.toml) and the whole test suite
#               (notebooks included, with small parameters)
PYTHON ?= python3
VENV ?= .venv
# The torch build to install first; the ranges in requirements.txt then keep it.
# On Colab or another machine, override: make test TORCH="torch torchvision"
TORCH ?= torch==2.14.1 torchvision==0.29.1
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install labs test lint bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(STAMP)

labs: $(STAMP)
	$(BIN)/actionlab labs run --out outputs

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf outputs .pytest_cache
