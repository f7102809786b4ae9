# The two commands that do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.installed
# make wheelhouse PLATFORM=windows PYVER=3.12 EXTRAS=all OUT=wheelhouse
PLATFORM ?= linux
PYVER    ?= $(shell $(PYTHON) -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
EXTRAS   ?= all
OUT      ?= wheelhouse

.PHONY: demo test fuzz lint bench clean lock upgrade wheelhouse

$(PY):
	$(PYTHON) -m venv $(VENV)

# Install exactly the versions uv.lock pins (hashes checked by pip), then netto itself.
$(STAMP): pyproject.toml uv.lock | $(PY)
	$(PY) -m pip install --quiet --upgrade pip "uv>=0.13,<0.14"
	$(UV) export --quiet --frozen --all-extras --no-emit-project -o $(VENV)/requirements.lock.txt
	$(PY) -m pip install --quiet --no-deps -r $(VENV)/requirements.lock.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

## lock: re-resolve uv.lock after a change to pyproject.toml (keeps the pinned versions)
lock: | $(PY)
	$(PY) -m pip install --quiet "uv>=0.13,<0.14"
	$(UV) lock

## upgrade: move every pinned dependency to its newest allowed version, then reinstall
upgrade: | $(PY)
	$(PY) -m pip install --quiet "uv>=0.13,<0.14"
	$(UV) lock --upgrade
	$(MAKE) $(STAMP)

## wheelhouse: every wheel for an offline install on PLATFORM (linux|windows) and PYVER
wheelhouse: $(STAMP)
	$(PY) scripts/wheelhouse.py --platform $(PLATFORM) --python $(PYVER) --extras $(EXTRAS) --out $(OUT)

## demo: install, run every bundled spec on its synthetic twin, write reports/, print the table
demo: $(STAMP)
	$(VENV)/bin/causal run data_specs/ --out reports
	$(PY) -m causal.context.demo

## test: install with test extras, run the whole suite (notebooks included). loadgroup: a test
##       shares a worker only with tests that share its fixtures (tests/conftest.py)
test: $(STAMP)
	$(UV) lock --check
	$(VENV)/bin/pytest -n 2 --dist loadgroup --no-loadscope-reorder -q tests/ $(if $(wildcard notebooks/*.ipynb),--nbmake notebooks/,)

## fuzz: the heavy fuzz (2,000 mutated specs through check, 60 through run; 20x the file-format
##       examples) and the same-seed determinism check on every bundled spec
fuzz: $(STAMP)
	NETTO_FUZZ=1 $(VENV)/bin/pytest -n 2 -q tests/test_bad_specs.py tests/test_formats_property.py \
	  tests/test_reports_atomic.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## bench: speed against a peer in the same run (matching vs dowhy, multilevel vs plain pymc, AOW dates),
##        and every estimator at 10k / 100k / 1M (10M where the issue asks) -> benchmarks/results/scaling.md
bench: $(STAMP)
	$(PY) benchmarks/aow.py
	$(PY) benchmarks/matching.py
	$(PY) benchmarks/multilevel.py
	$(PY) benchmarks/synth.py
	$(PY) benchmarks/inference.py
	$(PY) benchmarks/scaling.py --ten-million

clean:
	rm -rf reports/*/ reports/index.html reports/summary.csv reports/forest.png reports/.cache
