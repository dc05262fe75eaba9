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

# validate → plan → apply (register, build, push, run on the local Docker engine) → score → plan shows
# no changes. Without a reachable engine (services.sh is best effort: it needs root), render only.
# The demo applies examples/iris inside this project's checkout, which is often dirty while developing,
# so it passes --allow-dirty (a GitOps repo's apply refuses uncommitted changes by default).
DEMO     = examples/iris
DEMO_SCORE = import json, pathlib, subprocess, httpx; \
  rows = json.loads(subprocess.check_output(["$(BIN)/modelctl", "deployments", "list", "$(DEMO)", "--format", "json"])); \
  url = next(r["url"] for r in rows if r["name"] == "iris-local"); \
  key = pathlib.Path("$(DEMO)/.modelctl/secrets/iris-keys").read_text().split()[0]; \
  body = {"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}; \
  print("POST", url + "/score", json.dumps(body)); \
  r = httpx.post(url + "/score", json=body, headers={"Authorization": "Bearer " + key}, timeout=10); \
  print(r.status_code, r.text); r.raise_for_status()

demo: $(STAMP)
	-bash scripts/services.sh up
	$(BIN)/modelctl validate $(DEMO)
	@if docker info >/dev/null 2>&1; then \
	  set -e; \
	  echo "== plan (docker target 'local'; the kubernetes target has no API server here)"; \
	  $(BIN)/modelctl plan $(DEMO) --targets local; \
	  echo "== apply"; \
	  $(BIN)/modelctl apply $(DEMO) --targets local --auto-approve --allow-dirty; \
	  $(BIN)/modelctl deployments list $(DEMO); \
	  echo "== a scoring request with the generated key"; \
	  $(BIN)/python -c '$(DEMO_SCORE)'; \
	  echo "== plan again: nothing to do"; \
	  $(BIN)/modelctl plan $(DEMO) --targets local --detailed-exitcode; \
	else \
	  echo "No Docker engine is reachable (docker info failed; run 'sudo bash scripts/services.sh up'):"; \
	  echo "rendering only, nothing is applied."; \
	  $(BIN)/modelctl render $(DEMO) --out out/demo; \
	fi

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

# Lint, format check and type check (configured in pyproject.toml); changes nothing.
lint: $(STAMP)
	$(BIN)/ruff check compiler tests benchmarks
	$(BIN)/ruff format --check compiler tests benchmarks
	$(BIN)/mypy

# Every benchmark in one run (< 20 min here), peers in their own venvs under ~/.cache/modelctl-bench;
# rewrites docs/benchmarks.md. BENCH_ARGS=--quick for a short run while developing the harness.
bench: $(STAMP) services
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
