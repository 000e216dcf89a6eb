"""One exit-status rule for every command (README, "Exit status"): 0 ok; 1 some inputs failed or
parity failed; 2 usage, a missing or invalid model or checkpoint, or an output that cannot be written.

One row per command and fault. Faults a command cannot have are not rows: yolact-synth reads no
model and no inputs; yolact-train's inputs are its data set (an unreadable image stops it: 1).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHAPES = REPO / "examples" / "shapes"
BIN = Path(sys.executable).parent

# {placeholders} are filled in by the `files` fixture; "cpp" is yolact-cpp-run (make cpp).
TABLE = {
    "yolact-run": {
        "missing": ["{good}", "-m", "{missing_onnx}", "-o", "{out}"],
        "invalid": ["{good}", "-m", "{bad_onnx}", "-o", "{out}"],
        "unwritable": ["{good}", "-m", "{onnx}", "-o", "{out}", "--json", "{blocked}/r.json"],
        "usage": ["{good}", "-m", "{onnx}"],
        "bad input": ["{mixed}", "-m", "{onnx}", "-o", "{out}", "--providers", "cpu", "-q"],
    },
    "cpp": {
        "missing": ["{missing_onnx}", "{good}"],
        "invalid": ["{bad_onnx}", "{good}"],
        "unwritable": ["{onnx}", "{good}", "--json", "{blocked}/r.json", "--providers", "cpu"],
        "usage": ["{onnx}", "{good}", "--batch", "0"],
        "bad input": ["{onnx}", "{mixed}", "--providers", "cpu"],
    },
    "yolact-check": {
        "missing": ["-m", "{missing_onnx}", "--golden", "{golden}", "{good}"],
        "invalid": ["-m", "{bad_onnx}", "--golden", "{golden}", "{good}"],
        "unwritable": ["-m", "{onnx}", "--golden", "{golden}", "{good}", "--providers", "cpu",
                       "--json", "{blocked}/r.json"],
        "usage": ["-m", "{onnx}", "{good}"],
        "bad input": ["-m", "{onnx}", "--golden", "{golden}", "{mixed}", "--providers", "cpu"],
    },
    "yolact-export": {
        "missing": ["--weights", "{missing_pth}", "--out", "{out}/m.onnx"],
        "invalid": ["--weights", "{bad_pth}", "--out", "{out}/m.onnx"],
        "unwritable": ["--weights", "{pth}", "--out", "{blocked}/m.onnx"],
        "usage": ["--weights", "{pth}"],
        "bad input": ["--weights", "{pth}", "--out", "{out}/m.onnx", "--check", "{mixed}"],
    },
    "yolact-eval": {
        "missing": ["{missing_onnx}", "--annotations", "{annotations}", "--images", "{shapes}"],
        "invalid": ["{bad_onnx}", "--annotations", "{annotations}", "--images", "{shapes}"],
        "unwritable": ["{shapes_onnx}", "--annotations", "{annotations}", "--images", "{shapes}",
                       "--json", "{blocked}/ap.json"],
        "usage": ["{shapes_onnx}", "--images", "{shapes}"],
        "bad input": ["{shapes_onnx}", "--annotations", "{annotations}", "--images", "{broken_shapes}"],
    },
    "yolact-bench": {
        "missing": ["--weights", "{missing_pth}", "--images", "{good}", "--out", "{out}"],
        "invalid": ["--weights", "{bad_pth}", "--images", "{good}", "--out", "{out}"],
        "unwritable": ["--weights", "{pth}", "--images", "{good}", "--out", "{blocked}/results"],
        "usage": ["--weights", "{pth}", "--random", "yolact_shapes", "--images", "{good}"],
        "bad input": ["--weights", "{pth}", "--images", "{mixed}", "--paths", "onnx-fp32", "--runs", "1",
                      "--out", "{out}"],
    },
    "yolact-train": {
        "missing": ["--annotations", "{annotations}", "--images", "{shapes}", "--out", "{out}/t.pth",
                    "--resume", "{missing_pth}"],
        "invalid": ["--annotations", "{annotations}", "--images", "{shapes}", "--out", "{out}/t.pth",
                    "--resume", "{bad_pth}"],
        "unwritable": ["--annotations", "{annotations}", "--images", "{shapes}", "--config", "yolact_shapes",
                       "--out", "{blocked}/t.pth", "--iterations", "1"],
        "usage": ["--annotations", "{annotations}", "--images", "{shapes}", "--out", "{out}/t.pth"],
        "bad input": ["--annotations", "{annotations}", "--images", "{broken_shapes}", "--config",
                      "yolact_shapes", "--out", "{out}/t.pth", "--iterations", "1", "--no-progress"],
    },
    "yolact-synth": {
        "unwritable": ["--out", "{blocked}/set", "--images", "1"],
        "usage": ["--out", "{out}/set"],
    },
}
EXPECTED = {"missing": 2, "invalid": 2, "unwritable": 2, "usage": 2, "bad input": 1}
ROWS = [(tool, fault) for tool, faults in TABLE.items() for fault in faults]


def test_every_command_is_in_the_table() -> None:
    text = (REPO / "pyproject.toml").read_text()
    scripts = text.split("[project.scripts]")[1].split("\n\n")[0]
    names = {line.split("=")[0].strip() for line in scripts.strip().splitlines() if "=" in line}
    assert names == set(TABLE) - {"cpp"}


@pytest.fixture(scope="module")
def files(tmp_path_factory, model_path, small_weights, shipped_onnx) -> dict[str, str]:
    root = tmp_path_factory.mktemp("exit_codes")
    (root / "blocked").write_text("a file where a folder should be")
    (root / "bad.onnx").write_bytes(b"not a protobuf" * 8)
    (root / "bad.pth").write_bytes(b"not a checkpoint")
    mixed = root / "mixed"
    mixed.mkdir()
    shutil.copy(SHAPES / "images" / "000000.jpg", mixed / "000000.jpg")
    (mixed / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg" * 16)
    broken_shapes = root / "broken_shapes"
    shutil.copytree(SHAPES / "images", broken_shapes)
    (broken_shapes / "000003.jpg").write_bytes(b"\xff\xd8 not a jpeg" * 16)
    golden = root / "golden.json"  # every row of the good image (the check's threshold is at most 0.3)
    made = subprocess.run([str(BIN / "yolact-run"), str(mixed / "000000.jpg"), "-m", str(model_path), "-o",
                           str(root / "golden"), "--json", str(golden), "--score-threshold", "0", "--providers",
                           "cpu", "-q"], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0 and json.loads(golden.read_text()), made.stderr
    return {"good": str(mixed / "000000.jpg"), "mixed": str(mixed), "onnx": str(model_path),
            "missing_onnx": str(root / "none.onnx"), "bad_onnx": str(root / "bad.onnx"), "pth": str(small_weights),
            "missing_pth": str(root / "none.pth"), "bad_pth": str(root / "bad.pth"), "blocked": str(root / "blocked"),
            "golden": str(golden), "annotations": str(SHAPES / "annotations.json"), "shapes": str(SHAPES / "images"),
            "broken_shapes": str(broken_shapes), "shapes_onnx": str(shipped_onnx), "root": str(root)}


@pytest.mark.parametrize("tool, fault", ROWS, ids=[f"{t}-{f}" for t, f in ROWS])
def test_exit_status(tool, fault, files, tmp_path, request) -> None:
    command = [str(request.getfixturevalue("cpp_cli"))] if tool == "cpp" else [str(BIN / tool)]
    args = [a.format(**files, out=tmp_path / "out") for a in TABLE[tool][fault]]
    proc = subprocess.run(command + args, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == EXPECTED[fault], f"{tool} {fault}: {proc.returncode}\n{proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr
    if fault in ("missing", "invalid", "unwritable", "bad input"):  # the error names the file
        named = {"missing": "none.", "invalid": "bad.", "unwritable": "blocked", "bad input": "broken"}[fault]
        assert named in proc.stderr, proc.stderr[-2000:]
        doubled = [line for line in proc.stderr.splitlines() if any(f"{v}: {v}" in line for v in files.values())]
        assert doubled == []  # "error: m.onnx: m.onnx: ..." names the file once


def test_an_image_missing_from_the_golden_is_named_so(files, tmp_path) -> None:
    """Not "0 matched, N extra": the image is not in the golden file (one line, exit 1), the rest is checked."""
    other = tmp_path / "other.jpg"
    shutil.copy(SHAPES / "images" / "000001.jpg", other)
    proc = subprocess.run([str(BIN / "yolact-check"), "-m", files["onnx"], "--golden", files["golden"], files["good"],
                           str(other), "--providers", "cpu"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: other.jpg: not in the golden file {files['golden']}"]
