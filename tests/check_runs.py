"""yolact-check's test helpers: the CLI in process, a torch-free interpreter, yolact-run --json, a
changed model (shared by test_check.py and test_check_golden.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from click.testing import CliRunner
from onnx import numpy_helper

from yolact_runtime.parity.cli import main

REPO = Path(__file__).resolve().parents[1]
SHAPES_IMAGES = REPO / "examples" / "shapes" / "images"

# Runs a console entry point in a fresh interpreter in which torch and the export extra cannot be
# imported (as in a deployment without them), then proves none of them was loaded.
TORCH_FREE = r"""
import importlib.abc, runpy, sys
BLOCKED = ("torch", "torchvision", "onnx", "onnxsim", "onnxscript", "yolact_export")
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: this run must not need it")
sys.meta_path.insert(0, Blocker())
module, *sys.argv[1:] = sys.argv[1:]
try:
    runpy.run_module(module, run_name="__main__")
finally:
    assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED], "a blocked module was imported"
"""


def check(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def torch_free(module: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", TORCH_FREE, module, *map(str, args)], capture_output=True,
                          text=True, timeout=600)


def write_results(model: Path, images, json_path: Path, threshold: str | None = "0") -> None:
    """yolact-run --json over `images`, torch-free; threshold None: yolact-run's default."""
    flags = () if threshold is None else ("--score-threshold", threshold)
    run = torch_free("yolact_runtime", *images, "--model", model, "--out", json_path.with_suffix(".out"),
                     "--json", json_path, *flags, "--no-overlays", "--quiet", "--providers", "cpu")
    assert run.returncode == 0, run.stderr


def scale_one_conv(source: Path, target: Path, factor: float = 1.01) -> str:
    """Multiply the first Conv weight initializer of an exported graph by `factor`."""
    model = onnx.load(str(source))
    weights = {i.name: i for i in model.graph.initializer}
    conv = next(n for n in model.graph.node if n.op_type == "Conv" and n.input[1] in weights)
    tensor = weights[conv.input[1]]
    tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor) * np.float32(factor), tensor.name))
    onnx.save(model, str(target))
    return conv.name
