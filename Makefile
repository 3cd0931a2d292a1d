# DevOps on AWS Labs. Two commands matter: `make lab` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# The CDK's jsii runtime: no end-of-life banner on Node 20, and its cache inside the project.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_RUNTIME_PACKAGE_CACHE_ROOT := $(CURDIR)/.workshop/jsii-cache
export PYTHONDONTWRITEBYTECODE := 1
# Kernels and their shell cells (`!aws`, `!python`) find the workshop's own tools first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

LAB_PORT    ?= 8888
LAB_TOKEN   ?=
LAB_BROWSER ?= yes
LINTED      := labs tests setup benchmarks solutions
# Parallel test workers; each has its own emulator and workshop folder (see conftest.py).
TEST_WORKERS ?= 2
NBVAL       := --nbval --nbval-sanitize-with setup/nbval_sanitize.cfg --nbval-cell-timeout 600

.PHONY: help bootstrap doctor lab test lint notebooks solutions run-all timings cleanup bench

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

bootstrap: $(STAMP) ## Create .venv from the pinned requirements.txt (only when missing or stale).

doctor: bootstrap ## Check this machine is ready for the workshop.
	@$(PY) -m labs.doctor

lab: doctor ## Open the workshop: start the emulator and JupyterLab on notebooks/ (127.0.0.1).
	@$(PY) -m labs.emulator start
	$(PY) -m jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
	  --ServerApp.port_retries=0 --ServerApp.root_dir=notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root) \
	  $(if $(LAB_TOKEN),--IdentityProvider.token=$(LAB_TOKEN)) \
	  $(if $(filter no,$(LAB_BROWSER)),--no-browser)

test: doctor lint slides-deps ## Lint, then every test and every solution notebook (strict nbval), offline.
	@rm -rf build/test-workshop
	LABS_WORKSHOP_DIR=$(CURDIR)/build/test-workshop setup/isolated.sh \
	  $(PY) -m pytest tests solutions $(NBVAL) -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: bootstrap ## ruff (lint and format) on code and notebooks; notebooks/ in sync.
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check labs tests setup benchmarks
	$(PY) setup/make_notebooks.py --check

notebooks: bootstrap ## Regenerate the student notebooks/ from solutions/.
	@$(PY) setup/make_notebooks.py

solutions: bootstrap ## Re-execute solutions/ in place to refresh their reference outputs.
	$(PY) setup/run_all.py --in-place $(NOTEBOOK)

run-all: bootstrap ## Run the whole series headless into build/run-all/ with a timing report.
	$(PY) setup/run_all.py $(RUN_ALL_ARGS)

timings: bootstrap ## After run-all: store its wall times and update each notebook's time estimate.
	$(PY) setup/timings.py build/run-all/report.json
	$(PY) setup/make_notebooks.py

.PHONY: progress
progress: bootstrap ## Show which labs' checks you have passed (PROGRESS_ARGS="--reset [LAB]").
	@$(PY) -m labs.progress_log $(PROGRESS_ARGS)

# reveal.js for the decks, from setup/slides/package-lock.json (it names no registry host). Only the
# slides need npm; `test` installs it too, before its network-less run, because tests build decks.
SLIDES_NPM   := setup/slides
SLIDES_STAMP := $(SLIDES_NPM)/node_modules/.package-lock.json

.PHONY: slides slides-deps
slides-deps: ## Install reveal.js for the slides (npm ci, only when missing or stale).
	@if [ -f $(SLIDES_STAMP) ] && [ $(SLIDES_STAMP) -nt $(SLIDES_NPM)/package-lock.json ]; then :; \
	elif command -v npm >/dev/null 2>&1; then \
	  echo "npm ci --prefix $(SLIDES_NPM)"; \
	  npm ci --prefix $(SLIDES_NPM) --ignore-scripts --no-audit --no-fund --loglevel=error; \
	elif [ "$${CI:-}" = "true" ]; then \
	  echo "error: npm is missing; CI needs it to install reveal.js for the slide tests." >&2; exit 1; \
	else \
	  echo "warning: npm not found: no slides, and their tests are skipped (Node.js 20 brings npm)." >&2; \
	fi

slides: bootstrap slides-deps ## Build a reveal.js deck per lab into build/slides/ (opens offline).
	$(PY) setup/make_slides.py $(NOTEBOOK)

cleanup: bootstrap ## Delete every workshop resource, reset and stop the emulator (CLEANUP_ARGS="--lab 04": one lab's).
	$(PY) -m labs.cleanup --reset --stop $(CLEANUP_ARGS)

bench: bootstrap ## Print the performance figures (nothing is asserted).
	$(PY) benchmarks/run.py
