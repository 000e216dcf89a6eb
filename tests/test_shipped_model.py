"""The shipped model through the whole product: export, runtime, evaluation, and the demo's steps."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from yolact_export import load_checkpoint
from yolact_export.train.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "yolact_shapes.pth"
EXAMPLES = ROOT / "examples" / "shapes"


def test_shipped_model_is_small_and_recognised():
    assert MODEL.stat().st_size <= 25 * 2**20
    _, cfg = load_checkpoint(MODEL)
    assert cfg.class_names == ("disc", "rectangle", "triangle", "star", "ring")


def test_onnx_ap_equals_pytorch_ap(shipped_onnx):
    """Runtime-path AP within 0.1 points of PyTorch-path AP, on the six example images."""
    annotations, images = EXAMPLES / "annotations.json", EXAMPLES / "images"
    torch_ap = evaluate(MODEL, annotations, images)
    onnx_ap = evaluate(shipped_onnx, annotations, images)
    for kind in ("box", "mask"):
        for metric in ("AP", "AP50", "AP75"):
            assert abs(torch_ap[kind][metric] - onnx_ap[kind][metric]) <= 0.1, (kind, metric, torch_ap, onnx_ap)
    assert torch_ap["mask"]["AP50"] > 10, f"the shipped model should find the shapes: {torch_ap}"


def test_yolact_eval_cli_writes_json(shipped_onnx, tmp_path):
    out = tmp_path / "ap.json"
    run = subprocess.run([sys.executable, "-c", "from yolact_export.train.cli import eval_main; eval_main()",
                          str(shipped_onnx), "--annotations", str(EXAMPLES / "annotations.json"),
                          "--images", str(EXAMPLES / "images"), "--json", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    ap = json.loads(out.read_text())
    assert set(ap) == {"box", "mask"} and "AP50" in ap["mask"]
    assert "mask" in run.stdout and "AP50" in run.stdout


def test_yolact_eval_missing_annotations_is_one_line(shipped_onnx, tmp_path):
    run = subprocess.run([sys.executable, "-c", "from yolact_export.train.cli import eval_main; eval_main()",
                          str(shipped_onnx), "--annotations", str(tmp_path / "nope.json"), "--images", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip() == f"error: {tmp_path / 'nope.json'}: no such file"


def test_demo_steps_give_overlays_with_visible_masks(shipped_onnx, tmp_path):
    """What `make demo` runs after exporting: yolact-run on the examples, with the overview."""
    out = tmp_path / "demo"
    run = subprocess.run([sys.executable, "-m", "yolact_runtime", str(EXAMPLES / "images"), "--model",
                          str(shipped_onnx), "--out", str(out), "--json", str(out / "results.json"),
                          "--save-masks", "--overview", str(out / "overview.png")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    closing = run.stdout.splitlines()
    assert closing[0] == f"yolact-run: overview of 6 overlays: {out / 'overview.png'}" and len(closing) == 2
    overview = cv2.imread(str(out / "overview.png"))
    assert overview.shape == (2 * (320 + 22 + 6), 3 * (320 + 6), 3)  # 3 x 2 tiles, captions, gaps
    for index, overlay in enumerate(sorted((out / "overlays").glob("*"))):
        top, left = 3 + (index // 3) * (320 + 22 + 6), 3 + (index % 3) * (320 + 6)
        assert np.array_equal(overview[top : top + 320, left : left + 320], cv2.imread(str(overlay))), overlay
    overlays = sorted((out / "overlays").glob("*"))
    assert len(overlays) == 6
    results = json.loads((out / "results.json").read_text())
    assert len(results) >= 6, "the shipped model should detect shapes on its own examples"
    # Masks are painted: overlay pixels differ from the input where an instance map says so.
    for overlay in overlays:
        source = cv2.imread(str(EXAMPLES / "images" / overlay.name))
        drawn = cv2.imread(str(overlay))
        instances = cv2.imread(str(out / "masks" / (overlay.stem + ".png")), cv2.IMREAD_UNCHANGED)
        if instances is not None and instances.any():
            changed = np.abs(drawn.astype(int) - source.astype(int)).sum(-1) > 0
            assert changed[instances > 0].mean() > 0.5
            return
    pytest.fail("no example image got a visible mask")
