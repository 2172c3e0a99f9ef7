# The front door: every target installs what it needs first, so each works on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CDK := node_modules/.bin/cdk
ENV ?= dev

# jsii warns on every call that Node 20 is past end of life; it takes the major versions to silence.
NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := $(NODE_MAJOR)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := $(NODE_MAJOR)
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := $(NODE_MAJOR)
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install synth diff preflight deploy destroy demo bench test lint format clean mwaa-wheels airflow mutation chaos

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

synth: install
	$(CDK) synth --quiet -c env=$(ENV)

diff: install
	$(CDK) diff -c env=$(ENV)

# Read-only checks of the account and region before a deploy (bootstrap version, Powertools layer parameter, AZs,
# quotas): one ok/fix line each; exit 1 when something needs fixing, 2 without credentials. Needs AWS credentials.
preflight: install
	$(BIN)/python -m preflight --env $(ENV)

deploy: install
	$(CDK) deploy --all -c env=$(ENV)

destroy: install
	$(CDK) destroy --all -c env=$(ENV)

# Wheels, for MWAA's platform, of what dags/requirements.txt needs beyond the MWAA image, into mwaa/plugins/plugins.zip
# (deployed as the environment's plugins.zip): a PRIVATE_ONLY webserver cannot download from PyPI. Needs PyPI or a
# mirror (MWAA_PIP_ARGS="--index-url https://..."); writes nothing while the image has every requirement.
MWAA_PIP_ARGS ?=

mwaa-wheels: $(VENV)/.installed
	$(BIN)/python -m mwaa.build_wheels -- $(MWAA_PIP_ARGS)

# cdk.out is rebuilt whenever the infrastructure, the ASL, the Lambda code or what MWAA and Glue deploy changed.
cdk.out/.synth-$(ENV): $(VENV)/.installed node_modules/.installed app.py cdk.json $(shell find stacks statemachines lambdas dags jobs mwaa -type f -not -path '*/__pycache__/*' 2>/dev/null)
	$(CDK) synth --quiet -c env=$(ENV)
	@touch $@

# One ETL day after the orders: a generated day through the real DAG (dag.test()), results in out/etl/.
ETL_DATE ?= 2026-11-23

demo: cdk.out/.synth-$(ENV)
	$(BIN)/python -m localrun orders --summary --stack OrderProcessing-$(ENV)
	$(BIN)/python -m localrun etl --date $(ETL_DATE) --out out/etl

# The stack's MWAA environment on this machine (README, "Run MWAA locally"): Airflow UI and REST API on
# http://127.0.0.1:8080, one emulated AWS endpoint on http://127.0.0.1:4566, state in out/mwaa; Ctrl-C stops it.
# AIRFLOW_ARGS="--airflow-port 8081 --aws-port 4567 --home DIR --paused --keep-retries" changes the defaults.
AIRFLOW_ARGS ?=

airflow: cdk.out/.synth-$(ENV)
	$(BIN)/python -m localrun mwaa --stack DataPlatform-$(ENV) $(AIRFLOW_ARGS)

# Benchmarks (see README, "Performance"): prints a table, writes bench/results.json. Not part of `make test`.
# BENCH_ARGS="--only orders,lambdas" measures some sections; "--quick" is a smoke run, not figures.
BENCH_ARGS ?=

bench: cdk.out/.synth-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

# The order workflow under injected faults (see README, "Faults"): 20 seeds x 3 rates x 100 orders, one process per
# core; prints a table of outcomes and invariants, exit 1 when one is broken. CHAOS_ARGS="--seeds 5" is shorter.
CHAOS_ARGS ?=

chaos: cdk.out/.synth-$(ENV)
	$(BIN)/python -m localrun.chaos --cdk-out cdk.out $(CHAOS_ARGS)

# Mutation testing of the order domain and its adapters (see README, "Mutation testing"): mutmut over
# lambdas/order_domain with the fast tests (tests/domain, tests/handlers) on the synthesized assembly, one child;
# prints a table (module, mutants, killed, survived, score), diffs of survivors in out/mutation/survivors.txt.
# Then the DAG's helper package (dags/financial_etl) judged by tests/dags, in out/mutation-etl (about a minute).
# Not part of `make test` (about 25 minutes on 2 cores). Fails under MUTATION_FAIL_UNDER percent.
MUTATION_FAIL_UNDER ?= 90

mutation: cdk.out/.synth-$(ENV)
	$(BIN)/python -m tests.mutation --target orders --assembly cdk.out --fail-under $(MUTATION_FAIL_UNDER)
	$(BIN)/python -m tests.mutation --target etl --assembly cdk.out --fail-under $(MUTATION_FAIL_UNDER)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf cdk.out .pytest_cache
