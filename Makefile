# Two entry points for a fresh clone: `make demo` (the main job) and `make test`.
VENV ?= .venv
PYTHON := $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test]'
	touch $@

.PHONY: setup demo test test-fast lint docs bench
setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/hpsearch run experiments/digits.toml

test: setup
	$(PYTHON) -m pytest

test-fast: setup
	$(PYTHON) -m pytest -m "not slow"

# Static checks, configured in pyproject.toml: ruff (lint and import order) over the whole
# tree, mypy over the packages netcore and hpsearch.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The HTML API reference (docs/api/ -> docs/api/_build/html/index.html), offline, warnings as errors.
$(VENV)/.docs-installed: $(VENV)/.installed
	$(PYTHON) -m pip install --quiet -e '.[docs]'
	touch $@

docs: $(VENV)/.docs-installed
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs/api docs/api/_build/html
	@echo "API reference: docs/api/_build/html/index.html"

# Every benchmark, side by side (installs the comparison-only packages of the bench extra).
bench: setup
	$(PYTHON) -m pip install --quiet -e '.[bench,dask]'
	$(PYTHON) benchmarks/bench_netcore.py --repeats 5
	$(PYTHON) benchmarks/bench_search.py --datasets digits --seeds 10 --first-seed 100 \
		--methods ga ga-plain random tpe cmaes
	$(PYTHON) benchmarks/bench_search.py --datasets breast-cancer --seeds 10 --no-engine \
		--methods ga ga-plain random tpe cmaes
	$(PYTHON) benchmarks/bench_search.py --datasets diabetes --seeds 10 --no-engine \
		--methods ga ga-plain random tpe cmaes
	$(PYTHON) benchmarks/bench_search.py --datasets fashion-mnist-5k --seeds 10 --no-engine \
		--methods ga ga-plain random tpe cmaes
	$(PYTHON) benchmarks/bench_rounds.py --datasets digits --seeds 10 --first-seed 100
	$(PYTHON) benchmarks/bench_retrain.py --held-out \
		--tasks fashion-default-3k fashion-narrow-5k fashion-tops-4k
	$(PYTHON) benchmarks/bench_fidelity.py --datasets digits --seeds 10 --evaluations 100 --control
	$(PYTHON) benchmarks/bench_fidelity.py --datasets fashion-mnist-10k --seeds 10 --evaluations 100 --control
	$(PYTHON) benchmarks/bench_dask.py
	$(PYTHON) benchmarks/bench_pbt.py
	$(PYTHON) benchmarks/bench_multiobjective.py --seeds 5
