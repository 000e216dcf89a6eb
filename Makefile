# `make demo` and `make test` do all the set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED_IMAGES := ../shared/images
DEMO_OUT := demo_out

.PHONY: install demo test clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch first, pinned, so pip never resolves a CUDA build.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[export,test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/python -m yolact_export.demo --images $(SHARED_IMAGES) --out $(DEMO_OUT)

test: install
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info
