# The two commands of the README: `make demo` and `make test`. Both create the virtual
# environment .venv on first use and install sk-dae into it. TORCH_SPEC pins the CPU wheel
# this project's machines carry; elsewhere, e.g.:
#   make test TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev
BIN := $(VENV)/bin

.PHONY: setup demo test test-min-deps lint docs clean

$(VENV)/.installed-$(EXTRAS): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

setup: $(VENV)/.installed-$(EXTRAS)

demo: setup
	$(BIN)/sk-dae compare --output results/digits

# Two workers (pytest-xdist): the suite's fits each hold one torch thread, so two
# processes use both cores of a 2-core machine instead of one.
test: setup
	$(BIN)/python -m pytest -n 2

# The core tests against the lowest versions setup.cfg declares, in a virtual environment
# of their own (build/venv-min): see .ci/min-deps.
test-min-deps:
	PYTHON=$(PYTHON) TORCH_SPEC="$(TORCH_SPEC)" .ci/min-deps

lint: setup
	$(BIN)/ruff check sk_dae tests examples benchmarks
	$(BIN)/ruff format --check sk_dae tests examples benchmarks

# The documentation site: the user guide, the API reference from the docstrings and the
# gallery (every examples/plot_*.py runs, on digits). Warnings are errors.
docs:
	$(MAKE) setup EXTRAS=dev,docs
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html
	@echo "Open docs/_build/html/index.html"

clean:
	rm -rf $(VENV) build dist *.egg-info docs/_build docs/auto_examples docs/api docs/gen_modules
