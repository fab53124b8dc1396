# The README's commands: `make demo`, `make test` (and `make bench`). Each creates .venv and
# installs the pinned, tested versions (constraints.txt) on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# Benchmark velocity models are never in the repo; use ../shared/models when it exists.
SHARED_MODELS := $(abspath ../shared/models)
ifneq ($(wildcard $(SHARED_MODELS)/models.json),)
export CRFWI_DATA_DIR ?= $(SHARED_MODELS)
endif

.PHONY: demo test bench study report install clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/crfwi demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/solver_overhead.py
	$(PY) benchmarks/representation_cost.py

# The paper's studies at CPU scale (hours; resumable: run again to continue), then the report.
study: $(STAMP)
	$(VENV)/bin/crfwi bench paper-marmousi --out results/paper-marmousi \
		--summaries benchmarks/results/paper
	$(VENV)/bin/crfwi bench paper-others --out results/paper-others \
		--summaries benchmarks/results/paper

report: $(STAMP)
	$(VENV)/bin/crfwi report benchmarks/results/paper --out docs/benchmarks.md \
		--ntk benchmarks/results/ntk/marmousi2d/spectrum.json --verify 10 \
		--notes benchmarks/results/paper/INTERPRETATION.md \
		--before benchmarks/results/paper-v1 --ablations benchmarks/results/ablations \
		--bound-before benchmarks/results/bound-straight-through \
		--chevron benchmarks/results/chevron-like \
		--inversionnet benchmarks/results/inversionnet/summary.json

clean:
	rm -rf $(VENV) runs .pytest_cache
