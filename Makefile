# The front door: `make run` (everything, then serve on :8000) and `make test`.
# Every variable can be set in a `.env` file (see .env.example); the environment wins over it.
ifneq (,$(wildcard .env))
# An empty value in .env (KEY=) leaves the default below in place.
$(shell sed -E -e '/^[A-Za-z_][A-Za-z0-9_]*=[[:space:]]*$$/d' -e 's/^([A-Za-z_][A-Za-z0-9_]*)=/\1 ?= /' .env > .env.mk)
include .env.mk
endif

PG_PORT ?= 55432
REDIS_PORT ?= 56379
TEST_PG_PORT ?= 55433
# The test cluster's files live in memory where the machine has a writable /dev/shm with 2 GB free
# (and no one else's directory of that name in it): the suite clones two databases for every test
# and drops them, which on a busy disk costs more than the tests. Empty: STATE_DIR, as any cluster.
TEST_STATE_DIR ?= $(shell scripts/test-state-dir.sh)
PORT ?= 8000
HOST ?= 127.0.0.1
WORKERS ?= 1
DEBUG ?= true
DATA_PRESET ?= demo
FUZZ_EXAMPLES ?= 300
# make eval: a MovieLens 100K directory, or any user,item,weight[,timestamp] file; empty: the suite
# (MovieLens 100K temporal and generic, FilmTrust) read from DATASETS_DIR
DATASET ?=
DATASETS_DIR ?= ../shared/datasets

VENV ?= .venv
PY := $(VENV)/bin/python
INFRA := scripts/infra.sh
# scripts/infra.sh for the throw-away test cluster (no fsync, in TEST_STATE_DIR)
TEST_INFRA := PG_PORT=$(TEST_PG_PORT) PG_FAST=1 $(if $(TEST_STATE_DIR),STATE_DIR=$(TEST_STATE_DIR) )$(INFRA)

MAIN_DB ?= mysanta_main
RECS_DB ?= mysanta_recs
EVAL_MAIN_DB ?= mysanta_eval_main
EVAL_RECS_DB ?= mysanta_eval_recs
MAIN_DATABASE_URL ?= postgresql://mysanta_main_reader:reader-dev-password@127.0.0.1:$(PG_PORT)/$(MAIN_DB)
RECOMMENDATIONS_DATABASE_URL ?= postgresql://mysanta_app:app-dev-password@127.0.0.1:$(PG_PORT)/$(RECS_DB)
RECOMMENDATIONS_OWNER_DATABASE_URL ?= postgresql://mysanta_owner:owner-dev-password@127.0.0.1:$(PG_PORT)/$(RECS_DB)
# REDIS_PASSWORD (empty: none) is asked by the private Redis and carried in its URL.
REDIS_PASSWORD ?=
RECOMMENDATIONS_REDIS_URL ?= redis://$(if $(REDIS_PASSWORD),:$(REDIS_PASSWORD)@)127.0.0.1:$(REDIS_PORT)/0
# $(shell) sees the process environment only (GNU make 4.3): STATE_DIR from .env or the command line
# reaches scripts/infra.sh here as it reaches the recipes.
POSTGRES_SUPERUSER_URL ?= $(shell PG_PORT=$(PG_PORT) $(if $(STATE_DIR),STATE_DIR=$(STATE_DIR) )$(INFRA) superuser-url)
MAIN_ADMIN_DATABASE_URL ?= $(subst /postgres?,/$(MAIN_DB)?,$(POSTGRES_SUPERUSER_URL))

# Everything above (and whatever .env sets) reaches the commands below.
export

.PHONY: run test test-scale test-browser lint eval tune bench soak fuzz install infra db data stop status main-admin-url recs-url

## run: install everything, start PostgreSQL + Redis, migrate, load demo data, serve on :8000
run: db data
	@echo
	@echo "  API docs:   http://$(HOST):$(PORT)/docs"
	@echo "  Health:     curl http://$(HOST):$(PORT)/health"
	@if [ "$(DEBUG)" = "true" ] && [ -z "$$BASIC_AUTH_USERNAME" ]; then \
		echo "  Dev login:  mysanta / mysanta-dev-password   (DEBUG=true development credentials)"; fi
	@if [ "$(DEBUG)" = "true" ] && [ -z "$$ADMIN_BASIC_AUTH_USERNAME" ]; then \
		echo "  Dev admin:  mysanta-admin / mysanta-admin-dev-password   (/admin, /stats, /metrics)"; fi
	@echo "  Stop:       Ctrl-C, then make stop$(if $(filter-out 55432,$(PG_PORT))$(filter-out 56379,$(REDIS_PORT)), PG_PORT=$(PG_PORT) REDIS_PORT=$(REDIS_PORT))$(if $(filter command line,$(origin STATE_DIR)), STATE_DIR=$(STATE_DIR))"
	@echo
	$(PY) -m service serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

## test: a private throw-away cluster on TEST_PG_PORT (in memory: TEST_STATE_DIR), then the whole suite (but tests/scale)
test: install
	@$(TEST_INFRA) start-postgres
	TEST_POSTGRES_SUPERUSER_URL="$$($(TEST_INFRA) superuser-url)" \
		$(PY) -m pytest --ignore=tests/scale $(PYTEST_ARGS)

## test-scale: scaling out on real engines (about half a minute): a hot standby made by pg_basebackup -R of
## the test cluster, a 3-master Redis Cluster, each started and stopped by the tests
test-scale: install
	@$(TEST_INFRA) start-postgres
	TEST_POSTGRES_SUPERUSER_URL="$$($(TEST_INFRA) superuser-url)" \
		$(PY) -m pytest tests/scale $(PYTEST_ARGS)

## test-browser: the dashboard in headless Chromium (installed from Debian's packages), network closed but localhost
test-browser: install
	@$(INFRA) install-browser
	@$(TEST_INFRA) start-postgres
	TEST_POSTGRES_SUPERUSER_URL="$$($(TEST_INFRA) superuser-url)" \
		$(PY) -m pytest -q -m browser tests/browser

## fuzz: a longer, random schemathesis pass over the OpenAPI schema (FUZZ_EXAMPLES per operation)
fuzz: install
	@$(TEST_INFRA) start-postgres
	TEST_POSTGRES_SUPERUSER_URL="$$($(TEST_INFRA) superuser-url)" \
		FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 $(PY) -m pytest -q tests/api/test_fuzz.py

## lint: ruff and mypy
lint: install
	$(VENV)/bin/ruff check service tools tests
	$(VENV)/bin/ruff format --check service tools tests
	$(VENV)/bin/mypy

## eval: offline quality through the real SQL on fresh databases, beside reference baselines on the same
## split: the suite of datasets under DATASETS_DIR, or one DATASET (a MovieLens 100K directory, or a file)
eval: infra
	$(PY) -m tools evaluate $(if $(DATASET),--dataset "$(DATASET)") $(EVAL_ARGS)

## tune: setting search on the suite's validation splits (DATASET=file: on that file's), e.g. TUNE_ARGS="--grid collaborative_item_weight=0.3,0.5"
tune: infra
	$(PY) -m tools tune $(if $(DATASET),--dataset "$(DATASET)") $(TUNE_ARGS)

## bench: target-scale benchmark and its cost curve (refresh and SQL again at 1/4 and 1/2 the scale;
## BENCH_ARGS=--no-series skips it, --series 0.25,0.5,1,2 adds 2x); generates its main DBs once (~6 min),
## then about 15 min; writes bench/results/latest.json
bench: infra
	$(PY) -m tools bench $(BENCH_ARGS)

## soak: a bounded soak (SOAK_SECONDS, default 180) on private clusters and Redis; writes bench/results/soak.json
soak: install
	$(PY) -m tools soak $(SOAK_ARGS)

install:
	@$(INFRA) install

infra: install
	@$(INFRA) start

## db: roles, databases, extensions (superuser bootstrap), then migrations and schedules
db: infra
	@$(PY) -m service bootstrap --dev-main
	@$(PY) -m service migrate

## data: generated main-DB data (DATA_PRESET=tiny|demo|target) once, then a first refresh of every job
data: db
	@$(PY) -m tools generate --preset $(DATA_PRESET)
	@$(PY) -m service refresh

## stop: stop what `make run` and `make test` started
# A PG_PORT given on the command line (`make stop PG_PORT=... REDIS_PORT=...`, as make run's banner
# says for another instance) stops that instance only; the test cluster too when TEST_PG_PORT is given.
stop:
	@$(INFRA) stop
	@$(if $(and $(filter command line,$(origin PG_PORT)),$(filter-out command line,$(origin TEST_PG_PORT))),,$(TEST_INFRA) stop-postgres)

status:
	@$(INFRA) status

## main-admin-url: the development main database's superuser URL (for psql)
main-admin-url:
	@echo "$(MAIN_ADMIN_DATABASE_URL)"

## recs-url: the recs database as its owner role, the role jobs and DBA recipes run as (for psql)
recs-url:
	@echo "$(RECOMMENDATIONS_OWNER_DATABASE_URL)"
