# make demo: the main job end to end against the local emulator.  make test: everything CI runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(abspath $(VENV))/bin/python
BIN := $(abspath $(VENV))/bin
COLLECTIONS := $(abspath .build/collections)
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/partnercenter/autopilot
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export ANSIBLE_NOCOLOR := 1
export PATH := $(BIN):$(PATH)

.PHONY: all venv collection demo test pytest sanity sanity-matrix lint bench test-emulator test-unit test-integration clean

all: test

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

# The collection is used in place: ansible finds it through a link at ansible_collections/partnercenter/autopilot.
$(COLLECTION_LINK):
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn $(CURDIR) $(COLLECTION_LINK)

collection: venv $(COLLECTION_LINK)

demo: collection
	$(PY) tools/demo.py

# Everything CI runs: sanity (ansible-core of .venv), ansible-lint, then every pytest suite against the emulator.
test: sanity lint pytest

pytest: collection
	$(PY) -m pytest -q tests

sanity: venv
	tools/sanity.sh $(BIN)/ansible-test

# The ansible-core versions the collection supports (2.20+ needs Python 3.12, which these machines lack).
SANITY_CORES := 2.17 2.18 2.19
sanity-matrix:
	set -e; for v in $(SANITY_CORES); do \
	  $(PYTHON) -m venv .venv-core$$v; \
	  .venv-core$$v/bin/pip install --quiet "ansible-core==$$v.*"; \
	  tools/sanity.sh .venv-core$$v/bin/ansible-test; \
	done

.venv-lint/.installed: requirements-lint.txt
	$(PYTHON) -m venv .venv-lint
	.venv-lint/bin/pip install --quiet -r requirements-lint.txt
	touch $@

lint: collection .venv-lint/.installed
	PATH=$(abspath .venv-lint)/bin:$$PATH .venv-lint/bin/ansible-lint --nocolor -q

# Performance figures (not part of make test; about 15 minutes): see docs/performance.md.
bench: collection
	$(PY) -m tests.benchmarks.bench_noop_rerun --devices 5000 --repeat 3
	$(PY) -m tests.benchmarks.bench_first_registration --devices 5000 --repeat 3 --job-seconds 10
	$(PY) -m tests.benchmarks.bench_many_customers --customers 100 --devices 100 --job-seconds 60
	$(PY) -m tests.benchmarks.bench_uri_baseline --devices 1000

test-emulator: collection
	$(PY) -m pytest -q tests/emulator

test-unit: collection
	$(PY) -m pytest -q tests/unit

test-integration: collection
	$(PY) -m pytest -q tests/integration

clean:
	rm -rf $(VENV) .venv-lint .venv-core* .build reports .pytest_cache
