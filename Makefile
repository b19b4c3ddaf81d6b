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

# pip's output, setuptools' build warnings included, goes to the install log, so that what a
# newcomer sees of `make demo` is the tracks; a failing step shows the end of the log.
INSTALL_LOG := .cache/install.log
LOGGED = >>$(INSTALL_LOG) 2>&1 || { tail -n 30 $(INSTALL_LOG) >&2; echo "error: installing into $(VENV) failed; full output in $(INSTALL_LOG)" >&2; exit 1; }

# Wheels only: dlib comes from dlib-bin, and face-recognition is installed
# without its dependency list so pip never tries to compile dlib from source.
$(STAMP): pyproject.toml
	@mkdir -p $(dir $(INSTALL_LOG)) && : >$(INSTALL_LOG)
	@echo "installing facetrail and its dependencies into $(VENV) (pip's output: $(INSTALL_LOG))"
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) $(LOGGED)
	@$(BIN)/pip install --upgrade pip "setuptools<82" wheel $(LOGGED)
	@$(BIN)/pip install --only-binary dlib-bin -e ".[test]" $(LOGGED)
	@$(BIN)/pip install --no-deps face-recognition==1.3.0 $(LOGGED)
	@touch $(STAMP)

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
