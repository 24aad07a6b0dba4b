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

.PHONY: all venv collection demo test test-emulator test-unit test-integration clean

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

test: collection
	$(PY) -m pytest -q tests

test-emulator: collection
	$(PY) -m pytest -q tests/emulator

test-unit: collection
	$(PY) -m pytest -q tests/unit

test-integration: collection
	$(PY) -m pytest -q tests/integration

clean:
	rm -rf $(VENV) .build reports .pytest_cache
