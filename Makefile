# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_CACHE_DIR := $(CURDIR)/.cache/pip
STAMP := $(VENV)/.installed
# The strong default models (YuNet, face-reidentification-retail-0095) come from the reference data when it is
# beside the project; elsewhere facetrail looks in its model cache (`facetrail models fetch`) or falls back to dlib.
SHARED_MODELS := $(abspath ../shared/models)
ifneq ($(wildcard $(SHARED_MODELS)/*.xml),)
export FACETRAIL_MODEL_DIR ?= $(SHARED_MODELS)
endif

.PHONY: venv demo test test-core bench services-up services-down services-status clean

venv: $(STAMP)

# Wheels only: dlib comes from dlib-bin, and face-recognition is installed
# without its dependency list so pip never tries to compile dlib from source.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip "setuptools<82" wheel
	$(BIN)/pip install -q --only-binary dlib-bin -e ".[test]"
	$(BIN)/pip install -q --no-deps face-recognition==1.3.0
	touch $(STAMP)

demo: venv
	$(BIN)/python -m facetrail.demo

test: venv
	bash scripts/run-tests

bench: venv
	$(BIN)/python -m bench

services-up: venv
	bash scripts/services up

services-down:
	bash scripts/services down

services-status:
	bash scripts/services status

clean:
	rm -rf var demo-data test-artifacts
