"""The C++ runtime (runtime/cpp, `make cpp`): its CLI yolact-cpp-run against the ONNX contract.

The models here are small contract-conforming graphs written with onnx.helper (constant
detections, scores that depend on the input so preprocessing is checked too; the metadata is the
test fakes' own). The reference is the Python runtime (`runtime_coco`), on these models and on the
real exported models of conftest's `exported` fixture (YOLACT and YOLACT++); `compare_coco_results`
works for any two runtimes' results.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from contract_models import make_contract_model
from pycocotools import mask as mask_util  # a yolact_runtime dependency

from yolact_runtime import InputError, Yolact
from yolact_runtime.core.masks.rle import decode_rles, encode_rles
from yolact_runtime.pipeline.image_ids import default_image_id
from yolact_runtime.parity.compare import mask_iou

REPO = Path(__file__).resolve().parents[1]
IMAGES_DIR = REPO / "tests" / "data" / "photos"


# ----------------------------------------------------------------------------- the reference: yolact_runtime


def decode_segmentation(seg: dict) -> np.ndarray:
    """A COCO RLE, compressed (yolact_runtime) or not (yolact-cpp-run), as a bool mask."""
    h, w = seg["size"]
    rle = mask_util.frPyObjects(seg, h, w) if isinstance(seg["counts"], list) else seg
    return decode_rles([rle], h, w)[0]


def runtime_coco(model_path: Path, images: list[Path], score_threshold: float = 0.0) -> list[dict]:
    """COCO results of the Python runtime (yolact_runtime) in yolact-cpp-run's format, in output
    order: image_id by the names' rule (pipeline/image_ids.py); pixel boxes;
    YOLACT++: mask score as "score", box score as "box_score"."""
    model = Yolact(model_path, providers="cpu", score_threshold=score_threshold)
    results = []
    for path in images:
        image_id = default_image_id(path.name)
        try:
            result = model(path)
        except InputError:
            continue
        rles = encode_rles(result.masks)
        for i in range(len(result)):
            x1, y1, x2, y2 = (int(v) for v in result.boxes[i])
            entry = {"image_id": image_id, "file_name": path.name, "category_id": int(result.category_ids[i]),
                     "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(result.ranking_scores[i]),
                     "segmentation": rles[i]}
            if result.mask_scores is not None:
                entry["box_score"] = float(result.scores[i])
            results.append(entry)
    return results


def compare_coco_results(actual: list[dict], expected: list[dict], *, box_tol: float = 1.0,
                         score_tol: float = 1e-4, min_mask_iou: float = 0.99) -> dict[str, float]:
    """Assert two COCO result lists agree as sets of detections, per image, within tolerances.

    Entries are matched greedily (same image and category, nearest score, then nearest box), since
    near-tied scores may come in another order. Returns the worst gaps seen (box corner in px,
    score, box_score, and the smallest mask IoU)."""
    worst = {"box": 0.0, "score": 0.0, "box_score": 0.0, "iou": 1.0}
    images = sorted({e["image_id"] for e in expected} | {e["image_id"] for e in actual})
    for image_id in images:
        exp = [e for e in expected if e["image_id"] == image_id]
        act = [e for e in actual if e["image_id"] == image_id]
        assert len(act) == len(exp), f"image {image_id}: {len(act)} detections, expected {len(exp)}"
        free = list(range(len(act)))
        for e in sorted(exp, key=lambda e: -e["score"]):
            cands = [j for j in free if act[j]["category_id"] == e["category_id"]
                     and abs(act[j]["score"] - e["score"]) <= score_tol
                     and np.abs(np.subtract(act[j]["bbox"], e["bbox"])).max() <= box_tol * 2]
            assert cands, f"image {image_id}: no match for {({k: e[k] for k in ('category_id', 'bbox', 'score')})}"
            j = min(cands, key=lambda j: (abs(act[j]["score"] - e["score"]),
                                          np.abs(np.subtract(act[j]["bbox"], e["bbox"])).sum()))
            free.remove(j)
            a = act[j]
            ab, eb = np.asarray(a["bbox"], float), np.asarray(e["bbox"], float)
            corners = lambda b: np.concatenate([b[:2], b[:2] + b[2:]])  # noqa: E731
            assert np.abs(corners(ab) - corners(eb)).max() <= box_tol, (a["bbox"], e["bbox"])
            worst["box"] = max(worst["box"], float(np.abs(corners(ab) - corners(eb)).max()))
            worst["score"] = max(worst["score"], abs(a["score"] - e["score"]))
            if "box_score" in e:
                gap = abs(a["box_score"] - e["box_score"])
                assert gap <= score_tol, f"image {image_id}: box_score off by {gap:.2e} for {e['bbox']}"
                worst["box_score"] = max(worst["box_score"], gap)
            assert a["segmentation"]["size"] == e["segmentation"]["size"]
            iou = mask_iou(decode_segmentation(a["segmentation"]), decode_segmentation(e["segmentation"]))
            assert iou >= min_mask_iou, f"image {image_id}: mask IoU {iou:.4f} for {e['bbox']}"
            worst["iou"] = min(worst["iou"], iou)
    return worst


# ----------------------------------------------------------------------------- fixtures and tests


@pytest.fixture(scope="session")
def images() -> list[Path]:
    found = sorted(IMAGES_DIR.glob("*.png")) + sorted(IMAGES_DIR.glob("*.jpg"))
    assert found, f"no example images in {IMAGES_DIR}"
    return found


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    import onnx  # noqa: F401
    d = tmp_path_factory.mktemp("cpp_models")
    return {"yolact": make_contract_model(d / "yolact.onnx"),
            "plus": make_contract_model(d / "plus.onnx", in_graph_masks=True, valid=9, seed=1),
            "bare": make_contract_model(d / "bare.onnx", metadata=False)}


def run_cli(cpp_cli: Path, *args) -> subprocess.CompletedProcess:
    # Every row by default, as the references here keep them (the CLI's own default is 0.3).
    proc = subprocess.run([str(cpp_cli), "--score-threshold", "0", *map(str, args)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode >= 0 and proc.returncode != 134, f"crashed ({proc.returncode}): {proc.stderr}"
    return proc


@pytest.mark.parametrize("name", ["yolact", "plus"])
def test_cli_matches_contract_reference(cpp_cli, models, images, tmp_path, name):
    out, overlay = tmp_path / "out.json", tmp_path / "overlay"
    proc = run_cli(cpp_cli, models[name], *images, "--json", out, "--overlay", overlay)
    assert proc.returncode == 0, proc.stderr
    actual = json.loads(out.read_text())
    expected = runtime_coco(models[name], images)
    assert len(expected) > 0
    compare_coco_results(actual, expected, box_tol=0)  # the same float32 products, truncated: equal
    assert {e["file_name"] for e in actual} == {p.name for p in images}
    assert sorted(p.name for p in overlay.iterdir()) == sorted(p.stem + ".png" for p in images)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools vs numpy 2
def test_rle_is_what_pycocotools_reads(cpp_cli, models, images, tmp_path):
    """The CLI's segmentation counts are pycocotools' own compressed encoding of the mask they decode to."""
    out = tmp_path / "out.json"
    assert run_cli(cpp_cli, models["yolact"], images[0], "--json", out).returncode == 0
    entries = json.loads(out.read_text())
    assert entries and all(e["image_id"] == default_image_id(images[0].name) for e in entries)
    for e in entries:
        mask = decode_segmentation(e["segmentation"])
        assert mask.shape == tuple(e["segmentation"]["size"]) and mask.any()
        assert encode_rles(mask[None])[0]["counts"] == e["segmentation"]["counts"]
        assert int(mask_util.area({"size": e["segmentation"]["size"],
                                   "counts": e["segmentation"]["counts"].encode()})) == int(mask.sum())


def test_score_threshold_drops_low_scores(cpp_cli, models, images, tmp_path):
    out = tmp_path / "out.json"
    assert run_cli(cpp_cli, models["yolact"], images[0], "--json", out, "--score-threshold", "0.5").returncode == 0
    scores = [e["score"] for e in json.loads(out.read_text())]
    expected = [e["score"] for e in runtime_coco(models["yolact"], images[:1])]
    assert scores and min(scores) > 0.5 and len(scores) == sum(s > 0.5 for s in expected)


def test_missing_model(cpp_cli, images, tmp_path):
    proc = run_cli(cpp_cli, tmp_path / "nope.onnx", images[0], "--json", tmp_path / "o.json")
    assert proc.returncode == 2 and "not found" in proc.stderr
    assert not (tmp_path / "o.json").exists()


def test_model_without_metadata(cpp_cli, models, images, tmp_path):
    proc = run_cli(cpp_cli, models["bare"], images[0], "--json", tmp_path / "o.json")
    assert proc.returncode == 2 and "yolact.contract_version" in proc.stderr, proc.stderr


def test_not_an_onnx_file(cpp_cli, images, tmp_path):
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"this is not a protobuf" * 10)
    proc = run_cli(cpp_cli, bogus, images[0])
    assert proc.returncode == 2 and "bogus.onnx" in proc.stderr, proc.stderr


def test_unreadable_images_are_skipped(cpp_cli, models, images, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_text("not an image")
    args = [images[0], broken, tmp_path / "missing.png", images[-1]]
    out = tmp_path / "out.json"
    proc = run_cli(cpp_cli, models["yolact"], *args, "--json", out)
    assert proc.returncode == 1
    assert "broken.jpg" in proc.stderr and "missing.png" in proc.stderr
    actual = json.loads(out.read_text())
    assert {e["image_id"] for e in actual} == {default_image_id(images[0].name), default_image_id(images[-1].name)}
    compare_coco_results(actual, runtime_coco(models["yolact"], args))


def test_bad_arguments(cpp_cli, models):
    assert run_cli(cpp_cli).returncode == 2
    assert run_cli(cpp_cli, models["yolact"], "x.png", "--threads", "many").returncode == 2
    proc = run_cli(cpp_cli, models["yolact"], "x.png", "--provider", "abacus")
    assert proc.returncode == 2 and "abacus" in proc.stderr


@pytest.mark.parametrize("choice", ["cuda", "tensorrt", "openvino"])
def test_an_explicit_provider_this_build_lacks_is_an_error(cpp_cli, models, images, tmp_path, choice):
    """As yolact-run --providers: one line, exit 2, no output; auto says in one line what it took."""
    if choice != "openvino" and "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has the GPU providers")  # make cpp links the venv wheel's library
    proc = run_cli(cpp_cli, models["yolact"], images[0], "--providers", choice, "--json", tmp_path / "o.json")
    assert proc.returncode == 2 and not (tmp_path / "o.json").exists()
    assert proc.stderr.splitlines() == [proc.stderr.strip()] and "not available in this ONNX Runtime build" in proc.stderr
    proc = run_cli(cpp_cli, models["yolact"], images[0], "--providers", "auto", "--json", tmp_path / "o.json")
    assert proc.returncode == 0 and proc.stderr.startswith("yolact-cpp-run: providers auto: CPUExecutionProvider (")
    old = run_cli(cpp_cli, models["yolact"], images[0], "--provider", "cpu", "--json", tmp_path / "o.json")
    assert old.returncode == 0 and old.stderr == "yolact-cpp-run: --provider is deprecated: use --providers (the same values)\n"


# ----------------------------------------------------------------------------- real exported models


@pytest.mark.parametrize("key", ["v1", "plus"])
def test_cli_matches_python_runtime_on_exported_models(cpp_cli, exported, shared_images, tmp_path, key):
    """yolact-cpp-run = yolact_runtime on the real exported YOLACT (550) and YOLACT++ (320) models,
    as sets per image: boxes within 1 px, scores and box_scores within 1e-4, mask IoU >= 0.99."""
    model_path = exported[key][1]
    out = tmp_path / "out.json"
    proc = run_cli(cpp_cli, model_path, *shared_images, "--json", out, "--threads", "2")
    assert proc.returncode == 0, proc.stderr
    actual = json.loads(out.read_text())
    expected = runtime_coco(model_path, shared_images)
    assert {e["image_id"] for e in actual} == {default_image_id(p.name) for p in shared_images}
    assert ("box_score" in actual[0]) == ("box_score" in expected[0]) == (key == "plus")
    worst = compare_coco_results(actual, expected)
    print(f"C++ vs Python, {key}: {len(expected)} detections, max |Δbox| {worst['box']:.0f} px, "
          f"max |Δscore| {worst['score']:.2e}, max |Δbox_score| {worst['box_score']:.2e}, "
          f"min mask IoU {worst['iou']:.5f}")
    assert {e["file_name"] for e in actual} == {p.name for p in shared_images}


def test_folders_top_k_and_no_masks(cpp_cli, models, images, tmp_path):
    """A folder is searched as yolact-run searches it (recursive, sorted, hidden names skipped);
    --top-k keeps the best N of each image; --masks none leaves the segmentation out."""
    from yolact_runtime.pipeline.discover import image_files

    folder = tmp_path / "in"
    for relative in ("b/z.png", "a.png", "a-c/y.png", ".hidden/x.png", "b/.dot.png", "notes.txt"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(images[0].read_bytes())
    expected_order = [p.relative_to(folder).as_posix() for p in image_files(folder)]  # yolact-run's keys
    assert len(expected_order) == 3
    out = tmp_path / "out.json"
    proc = run_cli(cpp_cli, models["yolact"], folder, "--json", out, "--top-k", "2", "--masks", "none")
    assert proc.returncode == 0, proc.stderr
    entries = json.loads(out.read_text())
    assert [e["file_name"] for e in entries] == [name for name in expected_order for _ in range(2)]
    assert [e["image_id"] for e in entries] == [default_image_id(key) for key in expected_order for _ in range(2)]
    assert all("segmentation" not in e for e in entries)
    best = runtime_coco(models["yolact"], [images[0]])[:2]
    assert [e["bbox"] for e in entries[:2]] == [e["bbox"] for e in best]
    assert "box score" in subprocess.run([str(cpp_cli), "--help"], capture_output=True, text=True).stdout.lower()
