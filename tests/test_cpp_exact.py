"""yolact-cpp-run exactly as the contract and as yolact-run: same rows, same order, equal boxes.

On the constant contract models (contract_models.py, and variants of them written here: DarkNet's
`to_float` with BGR order, a fixed-batch graph, broken metadata), boxes must be EQUAL to the Python
runtime's (truncation of the same float32 products leaves no room for a pixel), scores within 1e-5
(the scores depend on the preprocessed input, computed by two implementations of the bilinear
resize), masks within IoU 0.99, and the entries in the same order. The YOLACT++
threshold semantics (box score > threshold, then ranked by mask score) are checked on
yolact-run's real JSON against yolact-cpp-run's.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from contract_models import make_contract_model
from test_cpp_runtime import decode_segmentation, images, mask_iou, run_cli, runtime_coco  # noqa: F401

SCORE_TOL = 1e-5
MIN_MASK_IOU = 0.99


def variant(source: Path, target: Path, metadata: dict[str, str] | None = None, drop_output: str | None = None) -> Path:
    """A copy of a contract model with metadata values replaced or an output removed."""
    model = onnx.load(str(source))
    for prop in model.metadata_props:
        if metadata and prop.key in metadata:
            prop.value = metadata[prop.key]
    if drop_output:
        kept = [o for o in model.graph.output if o.name != drop_output]
        del model.graph.output[:]
        model.graph.output.extend(kept)
    onnx.save(model, str(target))
    return target


@pytest.fixture(scope="module")
def contract_models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cpp_exact")
    yolact = make_contract_model(d / "yolact.onnx")
    plus = make_contract_model(d / "plus.onnx", in_graph_masks=True, valid=9, seed=1)
    darknet = variant(make_contract_model(d / "darknet_src.onnx", seed=2), d / "darknet.onnx", {
        "yolact.config": "yolact_darknet53",
        "yolact.preprocess": json.dumps({"transform": "to_float", "channel_order": "BGR", "resize": "bilinear"})})
    return {"yolact": yolact, "plus": plus, "darknet": darknet}


def assert_same_entries(actual: list[dict], expected: list[dict]) -> None:
    """Same entries in the same order: category, bbox equal, scores within SCORE_TOL, masks IoU."""
    assert [e["image_id"] for e in actual] == [e["image_id"] for e in expected]
    for i, (a, e) in enumerate(zip(actual, expected)):
        where = f"entry {i} (image {e['image_id']})"
        assert a["category_id"] == e["category_id"], where
        assert [float(v) for v in a["bbox"]] == [float(v) for v in e["bbox"]], (where, a["bbox"], e["bbox"])
        assert abs(a["score"] - e["score"]) <= SCORE_TOL, (where, a["score"], e["score"])
        assert ("box_score" in a) == ("box_score" in e), where
        if "box_score" in e:
            assert abs(a["box_score"] - e["box_score"]) <= SCORE_TOL, where
        assert mask_iou(_mask(a), _mask(e)) >= MIN_MASK_IOU, where
    assert len(actual) == len(expected)


def _mask(entry: dict) -> np.ndarray:
    return decode_segmentation(entry["segmentation"])


@pytest.mark.parametrize("name", ["yolact", "plus", "darknet"])
def test_cli_equals_contract_reference_in_order(cpp_cli, contract_models, images, tmp_path, name):  # noqa: F811
    out = tmp_path / "out.json"
    proc = run_cli(cpp_cli, contract_models[name], *images, "--json", out, "--score-threshold", "0")
    assert proc.returncode == 0, proc.stderr
    expected = runtime_coco(contract_models[name], images)
    assert len(expected) >= 9 * len(images)
    assert_same_entries(json.loads(out.read_text()), expected)


def _yolact_run(model: Path, inputs: list[Path], out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-m", "yolact_runtime", *map(str, inputs), "--model", str(model),
                           "--out", str(out), "--json", str(out / "coco.json"), "--no-overlays", "--quiet",
                           "--providers", "cpu", *extra], capture_output=True, text=True, env=env, timeout=300)


def test_plus_threshold_gives_the_same_json_in_both_runtimes(cpp_cli, contract_models, images, tmp_path):  # noqa: F811
    """A nonzero threshold on a ++ model: yolact-run's --json and yolact-cpp-run's --json keep the
    same rows (box score > 0.5) in the same order (mask score, descending)."""
    model, threshold = contract_models["plus"], "0.5"
    py = _yolact_run(model, images, tmp_path / "py", "--score-threshold", threshold)
    assert py.returncode == 0, py.stderr
    cpp_json = tmp_path / "cpp.json"
    proc = run_cli(cpp_cli, model, *images, "--json", cpp_json, "--score-threshold", threshold)
    assert proc.returncode == 0, proc.stderr
    python_entries = json.loads((tmp_path / "py" / "coco.json").read_text())
    cpp_entries = json.loads(cpp_json.read_text())
    # both tools give the images the same ids and file names (pipeline/image_ids.py).
    assert [e["file_name"] for e in python_entries] == [e["file_name"] for e in cpp_entries]
    assert_same_entries(python_entries, cpp_entries)
    assert_same_entries(cpp_entries, runtime_coco(model, images, score_threshold=0.5))
    # The case discriminates: some kept row has a mask score under the threshold, and the mask
    # scores reorder the box scores.
    assert min(e["score"] for e in cpp_entries) < 0.5 < min(e["box_score"] for e in cpp_entries)
    first_image = [e for e in cpp_entries if e["image_id"] == cpp_entries[0]["image_id"]]
    box_scores = [e["box_score"] for e in first_image]
    assert box_scores != sorted(box_scores, reverse=True)


# ----------------------------------------------------------------------------- error paths


def _error(cpp_cli, model: Path, image: Path, tmp_path: Path) -> str:  # noqa: F811
    out = tmp_path / "o.json"
    proc = run_cli(cpp_cli, model, image, "--json", out)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert not out.exists() and not Path(str(out) + ".tmp").exists()
    return lines[0]


@pytest.mark.parametrize("change, message", [
    ({"yolact.contract_version": "2"}, "contract version 2 is not supported"),
    ({"yolact.preprocess": "{\"transform\": "}, "metadata 'yolact.preprocess'"),
    ({"yolact.preprocess": json.dumps({"transform": "standardize"})}, "transform 'standardize'"),
    ({"yolact.category_ids": json.dumps([1, 2, 3])}, "one id per class name expected"),
    ({"yolact.category_ids": "[1, \"two\""}, "metadata 'yolact.category_ids'"),
    ({"yolact.input_size": "512"}, "is not [B, 3, 512, 512]"),
], ids=["contract-version", "preprocess-json", "preprocess-transform", "category-count", "category-json",
        "input-size"])
def test_bad_metadata_is_one_line_exit_2(cpp_cli, contract_models, images, tmp_path, change, message):  # noqa: F811
    model = variant(contract_models["yolact"], tmp_path / "bad.onnx", change)
    line = _error(cpp_cli, model, images[0], tmp_path)
    assert message in line and "bad.onnx" in line, line


def test_missing_output_is_one_line_exit_2(cpp_cli, contract_models, images, tmp_path):  # noqa: F811
    model = variant(contract_models["yolact"], tmp_path / "nocoef.onnx", drop_output="coefficients")
    line = _error(cpp_cli, model, images[0], tmp_path)
    assert "output 'coefficients' of the ONNX contract is missing" in line, line


def _fixed_batch(source: Path, target: Path, batch: int) -> Path:
    """A contract model whose input and outputs have a fixed batch: its constants tiled `batch` times."""
    from onnx import numpy_helper

    model = onnx.load(str(source))
    for init in model.graph.initializer:
        if init.name.endswith("_c"):  # the per-image constants (contract_models.py)
            tiled = np.concatenate([numpy_helper.to_array(init)] * batch)
            init.CopyFrom(numpy_helper.from_array(tiled, init.name))
    for value in [model.graph.input[0], *model.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_value = batch
    onnx.save(model, str(target))
    return target


def test_fixed_batch_graph_runs_in_padded_chunks(cpp_cli, contract_models, images, tmp_path):  # noqa: F811
    """A graph with a fixed batch of 2 takes 3 images (chunks of 2, the last padded) and --batch 3:
    the same entries as one image at a time on the dynamic-batch graph."""
    model = _fixed_batch(contract_models["yolact"], tmp_path / "batch2.onnx", 2)
    three = [images[0], images[1], images[2 % len(images)]]
    proc = run_cli(cpp_cli, model, *three, "--json", tmp_path / "fixed.json", "--batch", "3")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(cpp_cli, contract_models["yolact"], *three, "--json", tmp_path / "one.json")
    assert proc.returncode == 0, proc.stderr
    fixed, one = (json.loads((tmp_path / n).read_text()) for n in ("fixed.json", "one.json"))
    assert len(one) >= 9 * 3 and fixed == one


def test_unwritable_json_is_exit_2_and_names_it(cpp_cli, contract_models, images, tmp_path):  # noqa: F811
    target = tmp_path / "no_such_folder" / "out.json"
    proc = run_cli(cpp_cli, contract_models["yolact"], images[0], "--json", target)
    assert proc.returncode == 2, proc.stderr
    assert f"cannot write {target}" in proc.stderr
    assert not target.parent.exists()


@pytest.mark.parametrize("key", ["v1", "plus"])
def test_cli_keeps_the_python_runtimes_order_on_exported_models(cpp_cli, exported, images, tmp_path, key):  # noqa: F811
    """Real exported YOLACT / YOLACT++: yolact-cpp-run's entries come in yolact-run's order (box
    scores, or mask scores for ++), image by image; both run the same graph, so only scores that
    are tied within 1e-5 may swap."""
    model = exported[key][1]
    py = _yolact_run(model, images, tmp_path / "py", "--score-threshold", "0.1")
    assert py.returncode == 0, py.stderr
    proc = run_cli(cpp_cli, model, *images, "--json", tmp_path / "cpp.json", "--score-threshold", "0.1")
    assert proc.returncode == 0, proc.stderr
    python_entries = json.loads((tmp_path / "py" / "coco.json").read_text())
    cpp_entries = json.loads((tmp_path / "cpp.json").read_text())
    assert len(python_entries) == len(cpp_entries) > 0
    for i, (a, e) in enumerate(zip(cpp_entries, python_entries)):
        assert a["file_name"] == e["file_name"], i
        assert abs(a["score"] - e["score"]) <= 1e-4, (i, a["score"], e["score"])
        if a["category_id"] != e["category_id"] or np.abs(np.subtract(a["bbox"], e["bbox"])).max() > 1:
            tied = [o for o in python_entries if o["file_name"] == e["file_name"]
                    and abs(o["score"] - a["score"]) <= 1e-5 and o["category_id"] == a["category_id"]]
            assert tied, f"entry {i}: C++ has {a['category_id']} {a['bbox']} where yolact-run has " \
                         f"{e['category_id']} {e['bbox']} (scores {a['score']:.6f} / {e['score']:.6f})"
