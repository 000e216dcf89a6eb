"""The wheel carries the runtime, and the runtime installs without torch: `pip wheel .` builds it, a fresh
venv (no system site packages) installs it with its runtime dependencies only, and that venv's
`yolact-run` segments the shapes examples with the shipped model (exported here by the repo's venv)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHAPES = REPO / "examples" / "shapes" / "images"


def _run(command: list, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=600, cwd=cwd)
    assert proc.returncode == 0, f"{command[:3]} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_the_wheel_installs_without_torch_and_runs_the_demo(shipped_onnx, tmp_path):
    dist, venv = tmp_path / "dist", tmp_path / "venv"
    # --no-build-isolation: the repo's setuptools builds it, nothing fetched for the build
    _run([sys.executable, "-m", "pip", "wheel", REPO, "--no-deps", "--no-build-isolation", "-q", "-w", dist], tmp_path)
    wheel = next(dist.glob("yolact_export-*.whl"))
    _run([sys.executable, "-m", "venv", venv], tmp_path)
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "-q", wheel], tmp_path)  # the runtime's dependencies, from pyproject

    where = _run([python, "-c", "import importlib.util, yolact_runtime; print(yolact_runtime.__file__); "
                  "print(importlib.util.find_spec('torch'))"], tmp_path).stdout.split()
    assert where[0].startswith(str(venv)), where  # the wheel's copy, not the checkout
    assert where[1] == "None", "the runtime's dependencies pulled torch"

    out = tmp_path / "out"
    _run([venv / "bin" / "yolact-run", SHAPES, "--model", shipped_onnx, "--out", out, "--json", out / "results.json",
          "--providers", "cpu", "--quiet"], tmp_path)
    results = json.loads((out / "results.json").read_text())
    images = sorted(p.name for p in SHAPES.glob("*.jpg"))
    assert sorted({r["file_name"] for r in results}) == images  # the shipped model finds shapes in every example
    assert all(r["score"] > 0.3 and r["segmentation"]["counts"] for r in results)
    assert sorted(p.name for p in (out / "overlays").iterdir()) == images  # an overlay per image, its format kept
