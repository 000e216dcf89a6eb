"""End to end: the torch-free runtime on real exported models against the PyTorch reference.

For both exported models of conftest's `exported` fixture (YOLACT ResNet-50, YOLACT++ ResNet-50 with
in-graph masks and mask_scores; lively random weights) and the shared photos,
`yolact_runtime.Yolact(onnx, providers="cpu", score_threshold=0)` must give the detections of
`yolact_export.predict(model, image)` (the original eval path in PyTorch), compared as sets (near-tied
scores may swap, and the runtime ranks YOLACT++ by mask_scores): same count, every detection matched
by class and box (within 1 px), scores and mask_scores within 1e-4, mask IoU >= 0.99 (pixels whose
reference soft value is within 1e-3 of the 0.5 threshold are left out when the IoU falls short).
The runtime runs in a subprocess that must never import torch.

The reference's two resizes are evaluated in float64 here (`exact_preprocess`, `exact_upsample`):
F.interpolate in float32 rounds its source coordinates to float32, which puts the network input up
to 0.007 grey levels (1.3e-4 after normalization) off the exact bilinear value on these photos, and
breaks exact 0.5 ties of the mask threshold upwards (e.g. a saturated mask whose crop edge falls
exactly between two output pixels: the 297-px crop at prototype size 100, output column 148). The
runtime's resizes are exact to float32 rounding (3e-5 grey levels). `test_preprocess_is_the_reference_
transform` checks that exact_preprocess is the reference's transform up to that rounding.

`test_runtime_postprocess_on_reference_outputs` isolates the runtime's postprocessing: the
reference detector's own outputs (same forward pass as predict) through the runtime's
postprocess must give predict's detections exactly (masks IoU >= 0.99), whatever the network.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import torch
from reference_match import exact_preprocess, exact_upsample, match_sets

EXAMPLES = ("yolact_example_0.png", "yolact_example_1.png", "yolact_example_2.png",
            "yolact_example_0_crop297x420.png")
MODELS = ("v1", "plus")

# Runs in a fresh interpreter: the runtime alone, on every image, then proves torch never came in.
RUNTIME_SCRIPT = r"""
import sys
import cv2, numpy as np
from yolact_runtime import Yolact

model_path, out_path, *images = sys.argv[1:]
model = Yolact(model_path, providers="cpu", score_threshold=0)
arrays = {}
for index, path in enumerate(images):
    result = model(cv2.imread(path, cv2.IMREAD_COLOR))
    arrays[f"{index}_boxes"] = result.boxes
    arrays[f"{index}_scores"] = result.scores
    arrays[f"{index}_class_ids"] = result.class_ids
    arrays[f"{index}_masks"] = np.packbits(result.masks, axis=-1)
    arrays[f"{index}_shape"] = np.array(result.masks.shape)
    if result.mask_scores is not None:
        arrays[f"{index}_mask_scores"] = result.mask_scores
np.savez(out_path, **arrays)
assert "torch" not in sys.modules, "the runtime imported torch"
"""


@pytest.fixture(scope="module")
def images(shared_images) -> dict[str, Path]:
    found = {p.name: p for p in shared_images}
    missing = [name for name in EXAMPLES if name not in found]
    assert not missing, f"missing shared images {missing}"
    return {name: found[name] for name in EXAMPLES}


@pytest.fixture(scope="module")
def runtime_results(exported, images, tmp_path_factory) -> dict[str, dict[str, dict]]:
    """{model: {image name: runtime arrays}}, from a torch-free subprocess per model."""
    out: dict[str, dict[str, dict]] = {}
    directory = tmp_path_factory.mktemp("runtime_results")
    names = list(images)
    for key in MODELS:
        npz = directory / f"{key}.npz"
        proc = subprocess.run([sys.executable, "-c", RUNTIME_SCRIPT, str(exported[key][1]), str(npz),
                               *(str(images[n]) for n in names)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-4000:]
        data = np.load(npz)
        out[key] = {}
        for index, name in enumerate(names):
            shape = tuple(data[f"{index}_shape"])
            masks = np.unpackbits(data[f"{index}_masks"], axis=-1, count=shape[-1]).astype(bool)
            out[key][name] = {
                "boxes": data[f"{index}_boxes"], "scores": data[f"{index}_scores"],
                "classes": data[f"{index}_class_ids"], "masks": masks.reshape(shape),
                "mask_scores": data[f"{index}_mask_scores"] if f"{index}_mask_scores" in data else None,
            }
    return out


@pytest.fixture(scope="module")
def reference():
    """Lazily computed yolact_export.predict detections and the detector outputs of that same forward
    pass: get(exported, key, path) -> (Detections, {output: numpy [1, ...]})."""
    import yolact_export
    import yolact_export.detection.predict
    from yolact_export.detection.graph import YolactDetector

    class Capturing(YolactDetector):
        last: dict | None = None

        def forward(self, images):
            out = super().forward(images)
            Capturing.last = {k: v.detach().numpy().copy() for k, v in out.items()}
            return out

    models: dict[str, object] = {}
    cache: dict[tuple[str, str], tuple] = {}

    def get(exported, key: str, path: Path):
        if (key, path.name) not in cache:
            if key not in models:
                models[key] = yolact_export.load_checkpoint(exported[key][0])[0]
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(yolact_export.detection.predict, "preprocess", exact_preprocess)
                patch.setattr(yolact_export.detection.predict, "upsample_masks", exact_upsample)
                patch.setattr(yolact_export.detection.predict, "YolactDetector", Capturing)
                Capturing.last = None
                dets = yolact_export.predict(models[key], cv2.imread(str(path)))
            assert Capturing.last is not None
            cache[key, path.name] = (dets, Capturing.last)
        return cache[key, path.name]

    return get


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("key", MODELS)
def test_runtime_matches_torch_reference(exported, runtime_results, reference, images, key, name):
    expected, outputs = reference(exported, key, images[name])
    actual = runtime_results[key][name]
    assert (actual["mask_scores"] is not None) == (key == "plus")

    def soft(i: int) -> np.ndarray:
        import torch.nn.functional as F

        height, width = expected.masks.shape[1:]
        mask = torch.from_numpy(outputs["masks"][0, i]).double()[None, None]
        return F.interpolate(mask, size=(height, width), mode="bilinear", align_corners=False)[0, 0].numpy()

    worst = match_sets(actual, expected, f"{key}/{name}", soft=soft)
    print(f"{key}/{name}: {len(expected)} detections, max |Δbox| {worst['box']:.0f} px, "
          f"max |Δscore| {worst['score']:.2e}, max |Δmask_score| {worst['mask_score']:.2e}, "
          f"min mask IoU {worst['iou']:.5f}")


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("key", MODELS)
def test_runtime_postprocess_on_reference_outputs(exported, reference, images, key, name):
    """The runtime's postprocess on the reference detector's outputs (the graph's outputs, but
    computed by PyTorch in predict's own forward pass) = predict: boxes, scores, classes and
    mask_scores exactly, masks IoU >= 0.99; v1 masks are assembled and cropped by the runtime."""
    from yolact_runtime import Yolact
    from yolact_runtime.core.raw import split_batch

    expected, outputs = reference(exported, key, images[name])
    runtime = Yolact(exported[key][1], providers="cpu", score_threshold=0)
    raw = split_batch({k: outputs[k] for k in runtime.output_names})[0]
    result = runtime.postprocess(raw, expected.masks.shape[1:])
    actual = {"boxes": result.boxes, "scores": result.scores, "classes": result.class_ids,
              "masks": result.masks, "mask_scores": result.mask_scores}
    assert ("masks" in runtime.output_names) == (key == "plus")
    worst = match_sets(actual, expected, f"{key}/{name} (postprocess only)", box_tol=0, score_tol=0)
    print(f"{key}/{name} postprocess only: min mask IoU {worst['iou']:.5f}")


def test_preprocess_is_the_reference_transform(exported, images):
    """exact_preprocess is the reference's transform (up to its float32 rounding), and the runtime's
    preprocessing is that transform to float32 rounding."""
    import yolact_export
    from yolact_export.detection.preprocess import preprocess as reference_preprocess
    from yolact_runtime import Yolact

    for key in MODELS:
        config = yolact_export.load_checkpoint(exported[key][0])[1]
        runtime = Yolact(exported[key][1], providers="cpu")
        for name, path in images.items():
            image = cv2.imread(str(path))
            exact = exact_preprocess(image, config).numpy()
            ours = runtime.preprocess([image])
            theirs = reference_preprocess(image, config).numpy()
            assert ours.shape == exact.shape == theirs.shape
            gap_ref, gap_ours = np.abs(theirs - exact).max(), np.abs(ours - exact).max()
            assert gap_ref <= 2e-4, f"{key}/{name}: reference preprocess off the float64 one by {gap_ref:.2e}"
            assert gap_ours <= 1e-5, f"{key}/{name}: runtime preprocess off the float64 one by {gap_ours:.2e}"


def _yolact_run() -> list[str]:
    script = Path(sys.executable).parent / "yolact-run"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "yolact_runtime"]


def _decode(segmentation: dict) -> np.ndarray:
    from yolact_runtime.core.masks.rle import decode_rles

    h, w = segmentation["size"]
    return decode_rles([segmentation], h, w)[0]


def test_cli_folder_with_a_corrupt_file(exported, runtime_results, images, tmp_path):
    """yolact-run on a folder (three photos + a corrupt file) = the Python API, and one error line."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    names = list(EXAMPLES[:3])  # yolact_example_0/1/2.png
    for name in names:
        shutil.copy(images[name], folder / name)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage, not a PNG stream" * 20)
    json_path = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if k != "YOLACT_RUN_DEBUG"}  # errors as one line
    proc = subprocess.run([*_yolact_run(), str(folder), "--model", str(exported["v1"][1]), "--out", str(out),
                           "--json", str(json_path), "--score-threshold", "0", "--no-overlays", "--quiet",
                           "--providers", "cpu"], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 1, f"a corrupt input must make the run exit 1:\n{proc.stderr}"
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    naming = [line for line in lines if "corrupt.png" in line]
    assert len(naming) == 1, f"expected one error line naming corrupt.png:\n{proc.stderr}"
    assert naming[0].startswith("error:") and "Traceback" not in proc.stderr, proc.stderr

    from yolact_runtime.contract import read_model_info
    from yolact_runtime.core.postprocess import category_ids_for

    table = read_model_info(str(exported["v1"][1])).category_ids
    entries = json.loads(json_path.read_text())
    assert {e["file_name"] for e in entries} == set(names)
    for name in names:
        expected = runtime_results["v1"][name]
        got = [e for e in entries if e["file_name"] == name]
        assert len(got) == len(expected["scores"]), f"{name}: {len(got)} entries, API {len(expected['scores'])}"
        for i, entry in enumerate(got):  # same code, same order
            x1, y1, x2, y2 = (int(v) for v in expected["boxes"][i])
            assert entry["bbox"] == [x1, y1, x2 - x1, y2 - y1], (name, i)
            assert entry["category_id"] == int(category_ids_for(expected["classes"][i:i + 1], table)[0]), (name, i)
            assert entry["score"] == pytest.approx(float(expected["scores"][i]), abs=1e-7), (name, i)
            assert np.array_equal(_decode(entry["segmentation"]), expected["masks"][i]), (name, i)
