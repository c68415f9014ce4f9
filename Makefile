# vistream: `make demo` and `make test` each do the whole set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# torch 2.13.0 (CPU build) is what this project's CPU tests of the torch code paths use.
TORCH  ?= torch==2.13.0
EXTRAS := dev,kafka,mqtt,redis,amqp,server,eval

.PHONY: setup venv media models demo test lint bench clean help

help:
	@echo "make demo   - set up and run the demo (sample streams -> detect -> track -> overlay -> video + metadata)"
	@echo "make test   - set up and run the test suite"
	@echo "make lint   - ruff"
	@echo "make bench  - run the CPU benchmarks (JSON on stdout, copies in benchmarks/results/)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -U pip
	$(PY) -m pip install -q --disable-pip-version-check -e ".[$(EXTRAS)]" "$(TORCH)"
	# onnx2torch (torch backend) without its torchvision requirement: PyPI's torchvision does not import beside the CPU torch
	$(PY) -m pip install -q --disable-pip-version-check --no-deps "onnx2torch>=1.5"
	touch $(STAMP)

venv: $(STAMP)

media: $(STAMP)
	$(BIN)/vistream media fetch --bench-clip

models: $(STAMP)
	$(BIN)/vistream models fetch --all

setup: venv media models

demo: setup
	$(BIN)/vistream demo

test: setup
	$(PY) -m pytest -q -ra

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

bench: setup
	for script in benchmarks/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) out .pytest_cache
