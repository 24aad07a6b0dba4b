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

LINT_BIN := $(abspath .venv-lint)/bin

.PHONY: all venv collection collection-tarball demo test test-slow pytest mutants kill-matrix sanity sanity-matrix units compat \
	lint docs bench bench-summary test-emulator test-unit test-integration clean

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

# Everything CI runs: ansible-test sanity on every supported ansible-core and its unit runner, ansible-lint and
# the release checks (galaxy-importer, antsibull-docs, antsibull-changelog, ansible-builder), the docs site,
# the playbooks on the older ansible-core versions, then every pytest suite against the emulator.
# tests/unit runs once, under ansible-test units (the same test files, Python and ansible-core as .venv's, in a
# venv of ansible-test's from tests/unit/requirements.txt), so make test's pytest run leaves it out.
test: sanity-matrix units lint docs compat pytest mutants
test: PYTEST_OMIT := --ignore=tests/unit

# The largest suites read AUTOPILOT_TEST_SIZE: "reduced" (make pytest and make test; the default) runs the shared
# large register_devices.yml run (tests/integration/large_run.py: the output, CSV and browser tests) at 2,000
# devices and the realistic run (tests/reliability/test_realistic.py) at 50 customers; "full" at 10,000 devices
# and 200 customers, as make test-slow does. Every assertion holds at both sizes. --durations shows what is slow.
# The suites run in PYTEST_WORKERS processes (pytest-xdist), a test file per process at a time: most of their
# time is spent waiting on ansible-playbook and the emulator's jobs, so three share two cores well. Every test
# has an emulator of its own; the shared large run is made once (tests/integration/large_run.py).
AUTOPILOT_TEST_SIZE ?= reduced
PYTEST_WORKERS ?= 3
pytest: collection
	AUTOPILOT_TEST_SIZE=$(AUTOPILOT_TEST_SIZE) $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=30 \
		$(PYTEST_OMIT) tests

# The full-size forms of the suites make test runs reduced (about 3 minutes; not part of make test).
SLOW_TESTS := tests/integration/test_output.py tests/integration/test_report_browser.py \
	tests/reliability/test_realistic.py
test-slow: collection chromium
	AUTOPILOT_TEST_SIZE=full $(PY) -m pytest -q --durations=10 $(SLOW_TESTS)

# The report's browser test (tests/integration/test_report_browser.py) needs Debian's chromium: installed when
# missing, as root (CI runs as root); anyone else is told to install it.
.PHONY: chromium
pytest test-slow: chromium
chromium:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
			echo "make: the browser test needs Debian's chromium: run apt-get install chromium as root" >&2; exit 1; \
		fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Each "exactly once" guard removed in turn, from a copy of the code: the tests must fail (tools/mutants.py).
mutants: collection
	$(PY) tools/mutants.py

# The SIGKILL suite with 20 seeds (make test runs 4, one per kill phase); about 8 minutes.
kill-matrix: collection
	KILL_SEEDS=20 $(PY) -m pytest -q tests/reliability/test_kill.py

sanity: venv
	tools/ansible-test.sh $(BIN)/ansible-test sanity

# ansible-test's own unit test runner over tests/unit, in a venv it fills from tests/unit/requirements.txt.
units: venv
	tools/ansible-test.sh $(BIN)/ansible-test units

# The ansible-core versions the collection supports: .venv has the newest (2.19); 2.20+ needs Python 3.12,
# which these machines lack.
OLDER_CORES := 2.17 2.18
.venv-core%/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv .venv-core$*
	.venv-core$*/bin/pip install --quiet "ansible-core==$*.*" -r requirements.txt cryptography pytest pytest-xdist
	touch $@

sanity-matrix: sanity $(foreach v,$(OLDER_CORES),.venv-core$(v)/.installed)
	set -e; for v in $(OLDER_CORES); do tools/ansible-test.sh .venv-core$$v/bin/ansible-test sanity; done

# The playbooks and every module's EXAMPLES run on the older ansible-core versions too (pytest runs
# everything on the newest): templating differs between versions, so sanity alone would not catch it.
COMPAT_TESTS := tests/integration/test_register_playbook.py tests/integration/test_examples.py tests/integration/test_playbook_errors.py tests/integration/test_export_inventory.py
compat: collection $(foreach v,$(OLDER_CORES),.venv-core$(v)/.installed)
	set -e; for v in $(OLDER_CORES); do \
		.venv-core$$v/bin/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(COMPAT_TESTS); done

.venv-lint/.installed: requirements-lint.txt
	$(PYTHON) -m venv .venv-lint
	.venv-lint/bin/pip install --quiet -r requirements-lint.txt
	touch $@

lint: collection .venv-lint/.installed
	PATH=$(LINT_BIN):$$PATH $(LINT_BIN)/ansible-lint --nocolor -q
	tools/release-checks.sh $(LINT_BIN)

# The documentation site (Sphinx via antsibull-docs) in .build/docs/build/html.
docs: collection .venv-lint/.installed
	tools/docs.sh $(LINT_BIN)

# The collection as Galaxy gets it (and the execution environment installs it), in .build/dist.
collection-tarball: .venv-lint/.installed
	$(LINT_BIN)/ansible-galaxy collection build --force --output-path .build/dist .

# Performance figures (not part of make test; about 70 minutes): see docs/performance.md.
# Every benchmark runs even when one fails (no pipefail: tee's status counts), so one miss does not hide the
# others' figures; bench-summary then writes the table into docs/performance.md and fails on any missed target
# or any target part no benchmark reported. make bench-summary alone redoes that from the saved outputs.
BENCH_OUT := .build/bench
bench: collection
	rm -rf $(BENCH_OUT) && mkdir -p $(BENCH_OUT)
	$(PY) -m tests.benchmarks.bench_noop_rerun --devices 5000 --repeat 3 2>&1 | tee $(BENCH_OUT)/noop_rerun.out
	$(PY) -m tests.benchmarks.bench_first_registration --devices 5000 --repeat 3 --job-seconds 10 2>&1 \
		| tee $(BENCH_OUT)/first_registration.out
	$(PY) -m tests.benchmarks.bench_many_customers --customers 100 --devices 100 --job-seconds 60 2>&1 \
		| tee $(BENCH_OUT)/many_customers.out
	$(PY) -m tests.benchmarks.bench_uri_baseline --devices 1000 2>&1 | tee $(BENCH_OUT)/uri_baseline.out
	$(PY) -m tests.benchmarks.bench_first_registration_latency --devices 5000 --repeat 3 2>&1 \
		| tee $(BENCH_OUT)/first_registration_latency.out
	$(PY) -m tests.benchmarks.bench_noop_customers_latency --customers 100 --devices 100 --repeat 3 2>&1 \
		| tee $(BENCH_OUT)/noop_customers_latency.out
	$(PY) -m tests.benchmarks.bench_customers_latency --customers 500 --devices 20 2>&1 \
		| tee $(BENCH_OUT)/customers_latency.out
	$(PY) -m tests.benchmarks.bench_customers_by_domain --customers 2000 --devices 5 --reference $(BENCH_OUT)/customers_latency.out 2>&1 | tee $(BENCH_OUT)/customers_by_domain.out
	$(PY) -m tests.benchmarks.bench_export --customers 50 --devices 200 --forks 8 2>&1 | tee $(BENCH_OUT)/export.out
	$(MAKE) --no-print-directory bench-summary

bench-summary:
	$(PY) -m tests.benchmarks.summary --docs docs/performance.md $(wildcard $(BENCH_OUT)/*.out)

test-emulator: collection
	$(PY) -m pytest -q tests/emulator

test-unit: collection
	$(PY) -m pytest -q tests/unit

test-integration: collection
	$(PY) -m pytest -q tests/integration

clean:
	rm -rf $(VENV) .venv-lint .venv-core* .build reports .pytest_cache

# The emulator in the foreground, to try the playbooks by hand (README: "Try it by hand against the emulator"):
# prints the export lines that point them at it, then serves until Ctrl-C. Its CA, token cache and upload journal
# are in EMULATOR_DIR; EMULATOR_ARGS passes more options (python -m tests.emulator --help), e.g. --port 8443.
EMULATOR_DIR ?= .build/emulator
EMULATOR_ARGS ?=
.PHONY: emulator
emulator: collection
	@$(PY) -m tests.emulator --workdir $(EMULATOR_DIR) --exports $(EMULATOR_ARGS)
