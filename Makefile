# Two commands on a fresh machine: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
ATLAS := $(VENV)/bin/atlas
STAMP := $(VENV)/.installed-stamp
LINT_STAMP := $(VENV)/.lint-stamp

.PHONY: install demo test lint app worker screenshots bench mutate clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# With the ray extra: the Ray executor's tests run in CI (tests/compute/test_ray_executor.py).
	$(PY) -m pip install -q -e '.[ray]'
	# Test-only reference: Lucent's InceptionV1, to check ours against it. --no-deps: its
	# package requires torchvision, which does not work beside this torch (we never import it).
	$(PY) -m pip install -q --no-deps torch-lucent==0.1.8
	touch $(STAMP)

install: $(STAMP)

# The dev extra (ruff, mypy), pinned in pyproject.toml, on top of the test install.
$(LINT_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(LINT_STAMP)

demo: install  ## migrate, seed and compute the demo atlas on the CPU, then open the app
	$(ATLAS) demo

# One pytest-xdist worker per core, at most 4, each test file on one worker; TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= $(shell n=$$(nproc); echo $$(( n > 4 ? 4 : n )))

test: install  ## the whole suite; "no tests collected" (exit 5) is a failure
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

lint: $(LINT_STAMP)  ## the house rules (ruff, then mypy) as configured in pyproject.toml; CI's gate
	$(PY) -m ruff check .
	$(PY) -m mypy

app: install  ## the curation app on the default catalogue
	$(ATLAS) app

worker: install  ## one compute worker on the default catalogue
	$(ATLAS) worker

screenshots: install  ## the app's screenshots in docs/figures/app/, made again by the browser test (docs/app.md)
	ATLAS_UPDATE_SCREENSHOTS=1 $(PY) -m pytest -q tests/app/test_app_screenshots.py

bench: install  ## every benchmark, each printing its ratio against a baseline
	@set -e; for bench in $$(ls benchmarks/*.py | grep -v __init__); do \
		name=$$(basename $$bench .py); echo "== benchmarks/$$name"; $(PY) -m benchmarks.$$name; done

mutate: install  ## mutation testing of the core modules, each with its own tests (SQLite; the PostgreSQL search engine on ATLAS_TEST_POSTGRES_URL; two groups at a time: 18.3 min quiet on two cores, docs/testing.md)
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) tools/mutate.py $(MUTATE_GROUPS)

clean:
	rm -rf $(VENV) atlas-data .pytest_cache build/mutate
