import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
PHOTOS = DATA / "photos"
CPP_CLI = ROOT / "build" / "cpp" / "build" / "yolact-cpp-run"


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> Path:
    """A fake contract model: 10 rows, 6 of them valid, 16 px prototypes (tests/fakes.py)."""
    from fakes import random_detections, save_fake_model

    path = tmp_path_factory.mktemp("model") / "fake.onnx"
    save_fake_model(path, random_detections(max_detections=10, count=6, proto_size=16))
    return path


@pytest.fixture(scope="session")
def cpp_cli() -> Path:
    """yolact-cpp-run, built (or found up to date) by `make cpp` once per session."""
    proc = subprocess.run(["make", "--no-print-directory", "cpp"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"make cpp failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    assert CPP_CLI.is_file()
    return CPP_CLI


@pytest.fixture(scope="session")
def shipped_onnx(tmp_path_factory) -> Path:
    """models/yolact_shapes.pth exported by our exporter, once per session."""
    from yolact_export import load_checkpoint
    from yolact_export.exporter.export import export_onnx

    model, cfg = load_checkpoint(ROOT / "models" / "yolact_shapes.pth")
    assert cfg.name == "yolact_shapes"
    return export_onnx(model, tmp_path_factory.mktemp("shipped") / "yolact_shapes.onnx")


@pytest.fixture(scope="session")
def layouts() -> dict:
    path = DATA / "yolact_checkpoint_layouts.json"
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def shared_images() -> list[Path]:
    images = sorted(PHOTOS.glob("*.png"))
    assert images, f"no images under {PHOTOS}"
    return images


# Real exported models: lively random weights (see yolact_export.model.random_weights) saved the way the original
# saves checkpoints, loaded back through load_checkpoint, exported by our exporter. Built once.
EXPORTED = {
    # name: (config, input size, export options)
    "v1": ("yolact_resnet50", 400, {}),
    "plus": ("yolact_plus_resnet50", 320, {}),
}


def _lively_checkpoint(directory: Path, config: str, size: int) -> Path:
    import cv2
    import torch

    from yolact_export import build_model, get_config
    from yolact_export.model.random_weights import make_lively
    from yolact_export.detection.preprocess import preprocess

    cfg = get_config(config).at_size(size)
    images = [cv2.imread(str(p)) for p in sorted(PHOTOS.glob("yolact_example_?.png"))]
    model = make_lively(build_model(cfg), preprocess(images, cfg), seed=0)
    path = directory / f"{config}_im{size}_54_800000.pth"  # official naming carries the size
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(scope="session")
def small_weights(tmp_path_factory) -> Path:
    """The small config (yolact_shapes) at 160 px: for the tests of flags, options and exporters,
    which need no big network."""
    return _lively_checkpoint(tmp_path_factory.mktemp("small"), "yolact_shapes", 160)


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """{"v1" | "plus": (checkpoint .pth, exported .onnx)}."""
    from yolact_export import load_checkpoint
    from yolact_export.exporter.export import export_onnx

    directory = tmp_path_factory.mktemp("exported")
    out = {}
    for key, (config, size, options) in EXPORTED.items():
        weights = _lively_checkpoint(directory, config, size)
        model, _ = load_checkpoint(weights)
        out[key] = (weights, export_onnx(model, directory / f"{key}.onnx", **options))
    return out
