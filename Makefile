# The two commands of the README: `make demo` and `make test`. Both create the virtual
# environment .venv on first use and install sk-dae into it. TORCH_SPEC pins the CPU wheel
# this project's machines carry; elsewhere, e.g.:
#   make test TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev
BIN := $(VENV)/bin

.PHONY: setup demo test lint docs clean

$(VENV)/.installed-$(EXTRAS): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

setup: $(VENV)/.installed-$(EXTRAS)

demo: setup
	$(BIN)/sk-dae compare --output results/digits

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check sk_dae tests examples benchmarks
	$(BIN)/ruff format --check sk_dae tests examples benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info docs/_build docs/auto_examples
