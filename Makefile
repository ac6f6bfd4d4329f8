# Two entry points for a fresh machine: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# CPU build of PyTorch (this machine serves it from disk); GPU users: make TORCH=torch (pulls the CUDA build)
TORCH ?= torch==2.13.0
DEMO_FLAGS ?= --cycles 3 --steps 30000 --eval-episodes 50 -k 3
# The local backend (llama.cpp + embedded models) is an extra; the demo and the tests use it.
EXTRAS ?= local,test

# pipefail: filtering pip's noise must not hide its failures
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
QUIET_PIP := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: install test demo record clean

$(STAMP): pyproject.toml
	@start=$$(date +%s); \
	$(PYTHON) -m venv $(VENV) && \
	$(PY) -m pip install -q -U pip wheel $(QUIET_PIP) && \
	$(PY) -m pip install -q "$(TORCH)" $(QUIET_PIP) && \
	$(PY) -m pip install -q -e '.[$(EXTRAS)]' $(QUIET_PIP) && \
	{ command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1)) ; } || \
	  echo "note: bubblewrap not installed; the sandbox falls back to its other layers (gymsmith doctor)"; } ; \
	touch $(STAMP); \
	echo "one-time install took $$(( $$(date +%s) - start ))s (llama-cpp-python compiles on first install)"

install: $(STAMP)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q -ra

demo: $(STAMP)
	@start=$$(date +%s); \
	$(VENV)/bin/gymsmith run $(DEMO_FLAGS) && \
	echo "demo wall time: $$(( $$(date +%s) - start ))s"

# Re-record the test cassettes from the embedded local model (real responses, committed with the tests).
record: $(STAMP)
	$(PY) tests/cassettes/record.py

clean:
	rm -rf $(VENV) runs
