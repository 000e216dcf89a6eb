"""One selection rule (select_rows), read from one table by the runtime, the parity gate and the C++ runtime."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from yolact_runtime.core.postprocess import select_rows
from yolact_runtime.parity.compare import compare_images
from yolact_runtime.parity.detections import DetectionSet
from yolact_runtime.parity.profiles import EXACT

CASES = json.loads((Path(__file__).parent / "data" / "select_rows_cases.json").read_text())["cases"]


def _arrays(case: dict) -> tuple[np.ndarray, np.ndarray]:
    box = np.asarray(case["box_scores"], np.float32)
    ranking = box if case["mask_scores"] is None else np.asarray(case["mask_scores"], np.float32)
    return box, ranking


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_runtime_select_rows_follows_the_table(case):
    box, ranking = _arrays(case)
    assert select_rows(box, ranking, case["threshold"], case["top_k"]).tolist() == case["kept"]


def _runtime_set(case: dict) -> DetectionSet:
    """Detections as the runtime reports them at threshold 0: one per row, apart from each other."""
    box, ranking = _arrays(case)
    n = box.shape[0]
    boxes = np.array([[20.0 * i, 0, 20.0 * i + 10, 10] for i in range(n)]).reshape(-1, 4)
    return DetectionSet(np.ones(n, np.int64), boxes, ranking.astype(np.float64), box.astype(np.float64))


@pytest.mark.parametrize("case", [c for c in CASES if c["top_k"] is None], ids=lambda c: c["name"])
def test_parity_compares_the_rows_the_runtime_keeps(case):
    """yolact-check at a threshold compares exactly the detections select_rows keeps (YOLACT++ included)."""
    image = compare_images("x", _runtime_set(case), _runtime_set(case), EXACT, score_threshold=case["threshold"])
    assert image.passed
    assert image.reference_count == image.other_count == len(case["kept"])
    assert sorted(p.box[0] / 20 for p in image.pairs) == sorted(case["kept"])


def test_cpp_select_rows_follows_the_table(cpp_cli):
    """The C++ runtime's select_rows (runtime/cpp/src/postprocess.cpp) on the same table, through the probe."""
    table = Path(__file__).parent / "data" / "select_rows_cases.json"
    run = subprocess.run([cpp_cli.parent / "yolact-cpp-probe", "select", table], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    got = [[int(i) for i in line.split(",") if i] for line in run.stdout.split("\n")[:-1]]
    assert got == [case["kept"] for case in CASES]
