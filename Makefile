# The two commands that do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test fuzz lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

## demo: install, run every bundled spec on its synthetic twin, write reports/, print the table
demo: $(STAMP)
	$(VENV)/bin/causal run data_specs/ --out reports
	$(PY) -m causal.context.demo

## test: install with test extras, run the whole suite (notebooks included)
test: $(STAMP)
	$(VENV)/bin/pytest -n 2 --dist loadfile -q tests/ $(if $(wildcard notebooks/*.ipynb),--nbmake notebooks/,)

## fuzz: the heavy spec fuzz (2,000 mutated specs through check, 60 through run)
fuzz: $(STAMP)
	NETTO_FUZZ=1 $(VENV)/bin/pytest -q tests/test_bad_specs.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## bench: speed against a peer in the same run (matching vs dowhy, multilevel vs plain pymc, AOW dates)
bench: $(STAMP)
	$(PY) benchmarks/aow.py
	$(PY) benchmarks/matching.py
	$(PY) benchmarks/multilevel.py

clean:
	rm -rf reports/*/ reports/index.html reports/summary.csv reports/forest.png reports/.cache
