# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test services services-down golden schemas bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/modelctl validate examples/iris

services:
	bash scripts/services.sh up

services-down:
	bash scripts/services.sh down

test: $(STAMP) services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

golden: $(STAMP)
	$(BIN)/python tests/render/regen_golden.py
	MODELCTL_REGEN_GOLDEN=1 $(BIN)/python -m pytest -q tests/gitops -k golden

schemas: $(STAMP)
	$(BIN)/modelctl schema --write

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
