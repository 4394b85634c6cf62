# fateops.kubefate: set-up, the quickstart and every quality gate.
#   make setup   build .venv (Python 3.12, ansible 14) and link this checkout as the collection
#   make demo    deploy the sandbox federation against the local stand-ins
#   make test    every gate: lint, sanity, unit, emulator, integration, molecule, Python 3.11 proof
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# A pyenv-installed interpreter of the given minor version, else one on PATH (pyenv shims of versions
# that are not selected fail at run time, so they are not used).
find_python = $(shell for p in $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(1).*/bin/python$(1) 2>/dev/null \
  | sort -V -r) $$(command -v python$(1)); do "$$p" -c 'import sys' 2>/dev/null && { echo "$$p"; break; }; done)
PYTHON312 ?= $(call find_python,3.12)
PYTHON311 ?= $(call find_python,3.11)
VENV := .venv
VENV311 := .venv311
BIN := $(CURDIR)/$(VENV)/bin
BIN311 := $(CURDIR)/$(VENV311)/bin
COLL_LINK := .collections/ansible_collections/fateops/kubefate
SANITY_ROOT := .build/ansible_collections/fateops/kubefate
export ANSIBLE_PYTHON_INTERPRETER := $(BIN)/python
export PATH := $(BIN):$(PATH)

.PHONY: help setup setup-py311 demo bench test lint ruff yamllint ansible-lint sanity pytest molecule molecule-real \
        test-py311 clean docs

help:
	@sed -n '2,5p' Makefile

$(VENV)/.installed: test-requirements.txt requirements.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found (pyenv install 3.12 or put python3.12 on PATH)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON312) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r test-requirements.txt
	touch $@

$(COLL_LINK):
	mkdir -p $(dir $(COLL_LINK))
	ln -sfn ../../.. $(COLL_LINK)

setup: $(VENV)/.installed $(COLL_LINK)
	$(BIN)/python scripts/ansible-test-offline-pip $(BIN)/python
	@$(BIN)/python -c "import ansible.release as r; print('ansible-core', r.__version__)"
	@echo "setup done: $(BIN)/ansible-playbook fateops.kubefate.<playbook> -i <inventory>"

$(VENV311)/.installed: test-requirements-py311.txt requirements.txt
	@test -n "$(PYTHON311)" || { echo "Python 3.11 not found"; exit 1; }
	test -x $(BIN311)/python || $(PYTHON311) -m venv $(VENV311)
	$(BIN311)/python -m pip install -q --upgrade pip
	$(BIN311)/python -m pip install -q -r test-requirements-py311.txt
	touch $@

setup-py311: $(VENV311)/.installed $(COLL_LINK)
	$(BIN)/python scripts/ansible-test-offline-pip $(BIN311)/python

demo: setup
	$(BIN)/python scripts/demo

# ---------------------------------------------------------------- gates
test: setup
	@scripts/timed lint $(MAKE) --no-print-directory lint
	@scripts/timed sanity $(MAKE) --no-print-directory sanity
	@scripts/timed pytest $(MAKE) --no-print-directory pytest
	@scripts/timed molecule $(MAKE) --no-print-directory molecule
	@scripts/timed docs $(MAKE) --no-print-directory docs
	@scripts/timed py311 $(MAKE) --no-print-directory test-py311
	@scripts/timed summary true

lint: ruff yamllint ansible-lint

ruff:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

yamllint:
	$(BIN)/yamllint -s .

ansible-lint:
	$(BIN)/ansible-lint --offline -q

# ansible-doc renders every module, role and filter without a warning; playbooks pass --syntax-check; doc links resolve.
docs: setup
	$(BIN)/python scripts/check-docs

# ansible-test needs the collection under ansible_collections/<ns>/<name>: copy the tracked and new files
# there, less the test stand-ins in tools/ and scripts/, which are not part of the collection (build_ignore).
define sanity_tree
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	git ls-files -z -co --exclude-standard -- . ':!tools' ':!scripts' | tar --null -T - -cf - | tar -xf - -C $(SANITY_ROOT)
	cd $(SANITY_ROOT) && git init -q && git add -A
endef

sanity: setup
	$(sanity_tree)
	cd $(SANITY_ROOT) && $(BIN)/ansible-test sanity --venv --python 3.12 --color no

pytest: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

# A benchmark, not a gate: deploy_federation for 1 to 50 parties against the stand-ins (docs/performance.md).
bench: setup
	$(BIN)/python scripts/bench --markdown .build/bench.md

# The emulator scenario (stand-ins on 127.0.0.1); molecule-real needs FATEOPS_REAL_CLUSTER=1 and an inventory.
molecule: setup
	molecule test -s default

molecule-real: setup
	@test "$${FATEOPS_REAL_CLUSTER:-}" = 1 || { echo "molecule-real skipped: set FATEOPS_REAL_CLUSTER=1 and FATEOPS_REAL_INVENTORY"; exit 0; } \
	  && molecule test -s real_cluster

test-py311: setup-py311
	$(sanity_tree)
	cd $(SANITY_ROOT) && $(BIN311)/ansible-test sanity --venv --python 3.11 --color no
	ANSIBLE_PYTHON_INTERPRETER=$(BIN311)/python $(BIN311)/python -m pytest -q -p no:cacheprovider tests/unit

clean:
	rm -rf .build tests/output
