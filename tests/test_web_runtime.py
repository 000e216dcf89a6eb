"""The browser runtime (runtime/web) and its demo page (examples/web) in a real headless Chromium.

Debian's chromium, driven by playwright-core (runtime/web/browser.mjs), picks files on the demo
page as a person would. Its detections on the six shapes examples (and one resized, so that the
preprocess resizes too) must equal yolact_runtime's on the same exported model: the same keep-set,
boxes within 1 px (float32 box coordinates that land on an integer may truncate either way),
scores within 1e-4 (wasm and the CPU provider sum in different orders), mask IoU >= 0.99 (pixels
at 0.5 after a different float rounding of P C^T may flip; only a few per mask can). `make web` installs chromium and
node_modules; without apt-get or npm on the machine the browser tests skip, with that reason.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from yolact_runtime import Yolact
from yolact_runtime import contract
from yolact_runtime.errors import ModelError
from yolact_runtime.core.io import read_image

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "runtime" / "web"
SHAPES = sorted((ROOT / "examples" / "shapes" / "images").glob("*.jpg"))
CHROMIUM = Path("/usr/bin/chromium")
PHOTO = ROOT / "tests" / "data" / "photos" / "yolact_example_0.png"
ARTEFACTS = ROOT / "build" / "test-artefacts"
NO_ADAPTER = "No available adapters."  # Chromium's own warning when WebGPU has no adapter (--disable-gpu)


def _need_web_tools() -> None:
    if shutil.which("node") is None or not (WEB / "node_modules" / "playwright-core").is_dir():
        if shutil.which("npm") is None:
            pytest.skip("no npm on this machine: the browser runtime needs node, npm and `npm ci` in runtime/web")
        pytest.fail("runtime/web/node_modules is missing: run `make web` (npm ci)")
    if not CHROMIUM.is_file():
        if shutil.which("apt-get") is None:
            pytest.skip("no apt-get on this machine to install Debian's chromium for the browser test")
        pytest.fail("/usr/bin/chromium is missing: run `make web` (apt-get install chromium)")


def _node(*args: str) -> str:
    proc = subprocess.run(["nice", "-n", "15", "node", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def shapes_onnx(tmp_path_factory) -> Path:
    from yolact_export import load_checkpoint
    from yolact_export.exporter.export import export_onnx

    model, _ = load_checkpoint(ROOT / "models" / "yolact_shapes.pth")
    return export_onnx(model, tmp_path_factory.mktemp("web") / "yolact_shapes.onnx")


@pytest.fixture(scope="module")
def no_metadata_onnx(shapes_onnx) -> Path:
    import onnx

    model = onnx.load(str(shapes_onnx))
    del model.metadata_props[:]
    path = shapes_onnx.with_name("plain.onnx")
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def page_url():
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "web" / "serve.py"), "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("yolact web demo: http://127.0.0.1:"), line
        yield line.split(": ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory, shapes_onnx, no_metadata_onnx, exported, page_url) -> dict:
    """One Chromium session over the demo page: the shapes examples (all rows kept), a YOLACT++ model
    on a photo, a broken image, a model without metadata, then the shapes model again for the
    screenshot run (score > 0.3). Returns {"opened": ..., step name: what the page showed}."""
    _need_web_tools()
    directory = tmp_path_factory.mktemp("browser")
    broken = directory / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a picture")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTEFACTS / "web_demo.png"
    screenshot.unlink(missing_ok=True)
    named = {"shapes model": {"model": str(shapes_onnx)}}
    named.update({path.name: {"image": str(path), "threshold": 0, "pixels": True} for path in _compared(directory)})
    named.update({
        "plus model": {"model": str(exported["plus"][1])},
        "plus photo": {"image": str(PHOTO), "threshold": 0},
        "broken image": {"image": str(broken)},
        "no metadata": {"model": str(no_metadata_onnx)},
        "shapes again": {"model": str(shapes_onnx)},
        "shown": {"image": str(SHAPES[2]), "threshold": 0.3},
        "screenshot": {"screenshot": str(screenshot)},
    })
    job = directory / "job.json"
    job.write_text(json.dumps({"url": page_url, "chromium": str(CHROMIUM), "steps": list(named.values())}))
    out = json.loads(_node(str(WEB / "browser.mjs"), str(job)))
    return {"opened": out["opened"], **dict(zip(named, out["steps"]))}


def _compared(directory: Path) -> list[Path]:
    """The six examples, and one of them at 381x257 (a PNG: lossless, so both decoders agree) whose
    preprocess resizes (the examples are at the input size) and whose masks upsample by 3.2 and 4.8."""
    import cv2

    odd = directory / "000003_381x257.png"
    cv2.imwrite(str(odd), cv2.resize(cv2.imread(str(SHAPES[3])), (381, 257), interpolation=cv2.INTER_AREA))
    return [*SHAPES, odd]


def _mask(run_lengths: list[int], height: int, width: int) -> np.ndarray:
    values = np.arange(len(run_lengths)) % 2
    flat = np.repeat(values, run_lengths).astype(bool)
    assert flat.size == height * width
    return flat.reshape(height, width)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def test_page_detections_equal_the_python_runtime(browser_run, shapes_onnx):
    python = Yolact(shapes_onnx, providers="cpu")
    runs = [browser_run[path.name] for path in SHAPES] + [browser_run["000003_381x257.png"]]
    total = 0
    for step in runs:
        assert step["message"] == "", step["message"]
        run = step["run"]
        # the page decoded the file to the pixels cv2 reads (JPEG included), so both runtimes see one image
        decoded = np.frombuffer(base64.b64decode(step["pixels"]), np.uint8).reshape(run["height"], run["width"], 4)
        assert np.array_equal(decoded[..., 2::-1], read_image(step["path"])), run["name"]
        expected = python(step["path"])
        got = run["detections"]
        # the keep-set: the same rows, in the same order (ranked by score)
        assert [d["classId"] for d in got] == expected.class_ids.tolist(), run["name"]
        assert [d["className"] for d in got] == expected.class_names
        assert [d["categoryId"] for d in got] == expected.category_ids.tolist()
        assert len(got) > 0
        for i, detection in enumerate(got):
            where = (run["name"], i)
            assert abs(detection["score"] - float(expected.scores[i])) <= 1e-4, where
            assert np.abs(np.array(detection["box"]) - expected.boxes[i]).max() <= 1, where
            mask = _mask(detection["mask"], run["height"], run["width"])
            assert _iou(mask, expected.masks[i]) >= 0.99, (*where, _iou(mask, expected.masks[i]))
        total += len(got)
    assert total >= 7


def test_page_yolact_plus_detections_equal_the_python_runtime(browser_run, exported):
    """YOLACT++ (native DCN, the graph's own masks, re-scored by mask score). Rows whose mask scores
    tie within 1e-4 (random weights give many near 0) may come in either order, so the keep-set is
    compared as a set: each row found by class, box score and box; the ranking as a sequence."""
    step = browser_run["plus photo"]
    assert browser_run["plus model"]["message"] == "" and step["message"] == "", step["message"]
    run = step["run"]
    expected = Yolact(exported["plus"][1], providers="cpu")(PHOTO)
    got = run["detections"]
    assert len(got) == len(expected) > 0
    assert np.abs(np.array([d["score"] for d in got]) - expected.mask_scores).max() <= 1e-4
    unmatched = set(range(len(expected)))
    for detection in got:
        same = [i for i in unmatched if expected.class_ids[i] == detection["classId"]
                and abs(float(expected.scores[i]) - detection["boxScore"]) <= 1e-4
                and np.abs(expected.boxes[i] - np.array(detection["box"])).max() <= 1]
        assert same, detection
        i = min(same, key=lambda j: abs(float(expected.mask_scores[j]) - detection["score"]))
        unmatched.remove(i)
        assert abs(float(expected.mask_scores[i]) - detection["score"]) <= 1e-4
        mask = _mask(detection["mask"], run["height"], run["width"])
        assert _iou(mask, expected.masks[i]) >= 0.99, (i, _iou(mask, expected.masks[i]))


def test_page_opens_the_demo_model_or_says_how_to_make_it(browser_run):
    opened = browser_run["opened"]
    if (ROOT / "demo_out" / "yolact_shapes.onnx").is_file():
        assert opened["message"] == "" and opened["modelLine"].startswith("yolact_shapes.onnx: yolact_shapes at 320 px")
    else:
        assert opened["message"] == "yolact_shapes.onnx: not found; run `make demo` first (it exports demo_out/yolact_shapes.onnx)"


def test_page_says_which_engine_it_used(browser_run):
    line = browser_run["shapes model"]["modelLine"]
    assert "yolact_shapes.onnx: yolact_shapes at 320 px, 5 classes, on " in line
    assert "on wasm (SIMD, " in line or line.endswith("on webgpu"), line


def test_undecodable_image_is_one_message_on_the_page_and_none_in_the_console(browser_run):
    step = browser_run["broken image"]
    assert step["message"] == "broken.jpg: cannot decode image (corrupt or unsupported format)"
    assert step["console"] == []


def test_model_without_metadata_is_refused_in_the_python_runtimes_words(browser_run, no_metadata_onnx):
    step = browser_run["no metadata"]
    with pytest.raises(ModelError) as python_error:
        contract.read_model_info(no_metadata_onnx)
    assert step["message"] == str(python_error.value).replace(str(no_metadata_onnx), no_metadata_onnx.name)
    assert step["modelLine"] == "no model open"
    assert step["console"] == []


def test_screenshot_after_a_run_is_saved(browser_run):
    shot = browser_run["screenshot"]["screenshot"]
    run = browser_run["shown"]
    assert run["message"] == "" and run["run"]["detections"], run["message"]
    assert all(d["score"] > 0.3 for d in run["run"]["detections"])
    assert run["timingsLine"].startswith(f"{SHAPES[2].name} 320×320: ")
    for stage in ("decode", "preprocess", "inference", "postprocess", "draw"):
        assert f" {stage} " in run["timingsLine"]
    import cv2

    image = cv2.imread(shot)
    assert image is not None and image.shape[0] >= 320 and image.shape[1] >= 320
    steps = [step for name, step in browser_run.items() if name != "opened"]
    errors = [line for step in steps for line in step["console"] if line["type"] in ("error", "pageerror")]
    assert errors == []
    lines = {line["text"] for step in steps for line in step["console"]}
    assert lines <= {NO_ADAPTER}, lines


def test_module_reads_the_metadata_the_python_runtime_reads(shapes_onnx, no_metadata_onnx):
    """metadata.js in node (no browser): the contract's names equal contract.py's, and a real
    export's metadata reads the same; the refusal is the same sentence."""
    if shutil.which("node") is None:
        pytest.skip("no node on this machine")
    script = (
        "import { readFileSync } from 'node:fs';"
        "import * as m from './runtime/web/metadata.js';"
        "const out = { keys: m.METADATA_KEYS, required: m.REQUIRED_OUTPUTS, optional: m.OPTIONAL_OUTPUTS,"
        " input: m.INPUT, version: m.CONTRACT_VERSION, info: m.readModelInfo(readFileSync(process.argv[1]), 'a.onnx') };"
        "try { m.readModelInfo(readFileSync(process.argv[2]), 'b.onnx'); } catch (e) { out.refused = e.message; }"
        "try { m.readModelInfo(new Uint8Array([0x0a, 0xff]), 'c.onnx'); } catch (e) { out.garbage = e.message; }"
        "console.log(JSON.stringify(out));"
    )
    out = json.loads(_node("--input-type=module", "-e", script, str(shapes_onnx), str(no_metadata_onnx)))
    python_keys = {value for name, value in vars(contract).items() if name.startswith("KEY_")}
    assert set(out["keys"]) <= python_keys and len(out["keys"]) >= 8
    assert tuple(out["required"]) == contract.REQUIRED_OUTPUTS
    assert tuple(out["optional"]) == contract.OPTIONAL_OUTPUTS
    assert out["input"] == contract.INPUT and out["version"] == contract.CONTRACT_VERSION
    info = contract.read_model_info(shapes_onnx)
    got = out["info"]
    assert tuple(got["classNames"]) == info.class_names and tuple(got["categoryIds"]) == info.category_ids
    assert got["inputSize"] == info.input_size and tuple(got["outputs"]) == info.outputs
    assert got["preprocess"]["mean_bgr"] == list(info.preprocess.mean_bgr)
    assert got["preprocess"]["std_bgr"] == list(info.preprocess.std_bgr)
    assert got["preprocess"]["channel_order"] == info.preprocess.channel_order
    assert got["preprocess"]["transform"] == info.preprocess.transform
    assert out["refused"] == ("b.onnx: not a yolact-export model (metadata key 'yolact.contract_version' is missing);"
                              " export it with yolact-export")
    assert out["garbage"] == "c.onnx: not an ONNX model (truncated varint)"
