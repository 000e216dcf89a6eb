# `make demo` and `make test` do all the set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_OUT := demo_out
DEMO_MODEL := models/yolact_shapes.pth

.PHONY: install demo test clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch first, pinned, so pip never resolves a CUDA build.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[export,test,ray,openvino,track]'
	touch $@

install: $(VENV)/.installed

# Export the shipped model (with a PyTorch/ONNX parity check), then segment the shapes examples (what
# it was trained on); yolact-run's first closing line names the one picture to open: the overview.
demo: install
	$(BIN)/yolact-export --weights $(DEMO_MODEL) --out $(DEMO_OUT)/yolact_shapes.onnx --check examples/shapes/images
	$(BIN)/yolact-run examples/shapes/images --model $(DEMO_OUT)/yolact_shapes.onnx \
	  --out $(DEMO_OUT) --json $(DEMO_OUT)/results.json --save-masks --overview $(DEMO_OUT)/overview.png
	@echo "per image: overlays/, masks/, detections/ and the COCO results.json are in $(DEMO_OUT)/"

# lint-imports: the import contracts in pyproject.toml ([tool.importlinter]), before the tests.
test: install cpp web
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q --durations=20 tests

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info

# ---------------------------------------------------------------- C++ runtime (runtime/cpp)
# `make cpp` builds libyolact + yolact-cpp-run in build/cpp/build. System packages are installed
# only when missing. ONNX Runtime: give ONNXRUNTIME_ROOT=<official release folder>, or one is
# assembled in build/cpp/onnxruntime from the venv's onnxruntime wheel (library) and Debian
# trixie's libonnxruntime-dev (headers): see runtime/cpp/scripts/ort_root.sh.
CPP_BUILD := build/cpp
CPP_APT_PACKAGES := libopencv-dev cmake g++
CPP_ORT_ROOT = $(if $(ONNXRUNTIME_ROOT),$(ONNXRUNTIME_ROOT),$(CPP_BUILD)/onnxruntime)

.PHONY: cpp bench-cpp
cpp: $(BIN)/python
	@missing=""; for p in $(CPP_APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ] && ! command -v apt-get >/dev/null; then \
	  echo "cpp: no apt-get here: install$$missing (OpenCV dev files, CMake, a C++17 compiler) yourself"; \
	elif [ -n "$$missing" ]; then \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "cpp: installing$$missing"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@$(BIN)/python -c 'import onnxruntime' 2>/dev/null || $(BIN)/pip install -q 'onnxruntime>=1.20,<1.33'
	@mkdir -p $(CPP_BUILD)
	$(if $(ONNXRUNTIME_ROOT),,bash runtime/cpp/scripts/ort_root.sh $(CPP_BUILD)/onnxruntime $(BIN)/python)
	cmake -S runtime/cpp -B $(CPP_BUILD)/build -DCMAKE_BUILD_TYPE=Release \
	  -DONNXRUNTIME_ROOT=$(abspath $(CPP_ORT_ROOT)) > $(CPP_BUILD)/cmake.log || { cat $(CPP_BUILD)/cmake.log; exit 1; }
	cmake --build $(CPP_BUILD)/build -j2

# C++ vs Python per stage and end to end, side by side: benchmarks/results/cpp-vs-python.json.
bench-cpp: install cpp
	$(BIN)/python benchmarks/cpp_vs_python.py

# ---------------------------------------------------------------- browser runtime (runtime/web)
# `make web` brings what the browser test needs: Debian's chromium (apt, only when missing) and
# runtime/web/node_modules (npm ci from the committed lock file, again when the lock changes).
# Without apt-get or npm it says so in one line and tests/test_web_runtime.py skips for that reason.
WEB := runtime/web
PORT ?= 8000

.PHONY: web web-demo
web: $(WEB)/node_modules/.package-lock.json
	@if [ -x /usr/bin/chromium ]; then :; \
	elif ! command -v apt-get >/dev/null; then echo "web: no apt-get here: install Debian's chromium yourself"; \
	else sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; echo "web: installing chromium"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	    -o DPkg::Lock::Timeout=600 --no-install-recommends chromium; fi

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	@if command -v npm >/dev/null; then cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "web: no npm here: install node and npm, then run make web"; fi

# Serve the demo page (examples/web/) on 127.0.0.1; it opens the model `make demo` exports.
web-demo: web
	@[ -f $(DEMO_OUT)/yolact_shapes.onnx ] || $(MAKE) --no-print-directory demo
	$(BIN)/python examples/web/serve.py --port $(PORT)
