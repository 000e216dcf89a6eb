"""providers="openvino": the plugin EP from the `openvino` extra, its precision, and parity with ORT CPU.

Parity (lively random weights, the shared photos): OpenVINO f32 against ONNX Runtime CPU gives the
same keep-set (every valid row paired: same class, box within 1 px of the photo, score within
1e-4), on a v1 and a YOLACT++ graph; bf16, where the CPU has native bf16, finds ORT's top-10 again
with scores within 5e-3; the INT8 graph runs. The device tests skip only where the EP cannot have
a device: a CPU that is not Intel (onnxruntime-ep-openvino 1.8 lists Intel CPUs only). Without the
extra, or on an Intel CPU without a device, they fail. bf16 skips only without the CPU flags.
The same numerics on every CPU, through the OpenVINO runtime itself: test_openvino_runtime.py.
"""
from __future__ import annotations

import json
import sys

import pytest

from yolact_export.exporter.parity import match_detections
from yolact_runtime import ProviderError, Yolact
from yolact_runtime.core import cpu, openvino
from yolact_runtime.core.io import read_image
from yolact_runtime.core.openvino import OPENVINO
from yolact_runtime.core.session import CPU, plan_providers
from fakes import random_detections, save_fake_model
from reference_match import raw_as_dict


def _require_device() -> None:
    """Skip only on a non-Intel CPU, where the EP lists no device; without the extra (`make test`
    installs it) or on an Intel CPU without a device, fail."""
    devices, problem = openvino.cpu_devices()
    if devices:
        return
    if "extra is not installed" not in problem and cpu.cpu_info()[2].get("vendor_id") != "GenuineIntel":
        pytest.skip(problem)
    pytest.fail(problem)


def test_without_the_extra_openvino_is_a_one_line_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime_ep_openvino", None)  # import fails as if not installed
    path = save_fake_model(tmp_path / "m.onnx", random_detections())
    with pytest.raises(ProviderError) as error:
        Yolact(path, providers="openvino")
    message = str(error.value)
    assert "\n" not in message and "pip install 'yolact-export[openvino]'" in message
    assert Yolact(path, providers="auto").providers[0] == CPU  # auto just moves on


def test_precision_options_and_what_runs(monkeypatch) -> None:
    config = json.loads(openvino.provider_options("f32", 2)["load_config"])
    assert config == {"CPU": {"INFERENCE_PRECISION_HINT": "f32"}}
    assert openvino.provider_options("f32", 2)["num_of_threads"] == "2"
    assert openvino.provider_options("default", None) == {}  # OpenVINO's own choice
    with pytest.raises(ProviderError, match="unknown precision"):
        openvino.provider_options("fp8", None)
    monkeypatch.setattr(openvino, "bf16_flags", lambda: ["amx_bf16"])
    assert openvino.precision_run("default") == "bf16" and openvino.precision_run("f32") == "f32"
    assert "amx_bf16" in openvino.describe("default")
    monkeypatch.setattr(openvino, "bf16_flags", lambda: [])
    assert openvino.precision_run("default") == "f32"


def test_auto_takes_openvino_after_the_gpus_and_says_why_not() -> None:
    assert plan_providers("auto", [CPU, OPENVINO])[0] == [OPENVINO, CPU]
    chain, why = plan_providers("auto", [CPU], openvino_note="no device here")
    assert chain == [CPU] and why.endswith("(OpenVINO: no device here)")
    with pytest.raises(ProviderError, match="providers openvino: no device here"):
        plan_providers("openvino", [CPU], openvino_note="no device here")


def _raws(model_path, precision: str, images) -> tuple[list, list]:
    reference, other = Yolact(model_path, "cpu"), Yolact(model_path, "openvino", precision=precision)
    assert other.providers[0] == OPENVINO
    batches = [reference.preprocess([image]) for image in images]
    return [reference.infer(b)[0] for b in batches], [other.infer(b)[0] for b in batches]


@pytest.mark.parametrize("key", ["v1", "plus"])
def test_openvino_f32_matches_ort_cpu(exported, shared_images, key) -> None:
    _require_device()
    images = [read_image(p) for p in shared_images]
    ours, theirs = _raws(exported[key][1], "f32", images)
    for path, image, a, b in zip(shared_images, images, ours, theirs):
        one_pixel = 1.0 / max(image.shape[:2])
        pairs, unmatched = match_detections(raw_as_dict(a), raw_as_dict(b), box_tol=one_pixel, score_tol=1e-4)
        assert a.count > 0 and unmatched == 0, f"{key}/{path.name}: {unmatched} of {a.count} rows unpaired"


def test_openvino_bf16_finds_the_top10_again(exported, shared_images) -> None:
    if not cpu.bf16_flags():  # /proc/cpuinfo
        pytest.skip(f"this CPU has none of {', '.join(cpu.BF16_FLAGS)}: OpenVINO runs f32 whatever the hint")
    _require_device()
    images = [read_image(p) for p in shared_images]
    ours, theirs = _raws(exported["v1"][1], "default", images)
    for path, image, a, b in zip(shared_images, images, ours, theirs):
        top = raw_as_dict(a, rows=10)
        pairs, _ = match_detections(top, raw_as_dict(b), box_tol=2.0 / max(image.shape[:2]), score_tol=5e-3)
        assert len(pairs) == top["num_detections"], f"{path.name}: {len(pairs)} of the top-10 found again"


def test_the_int8_graph_runs_on_openvino(exported, shared_images, tmp_path) -> None:
    _require_device()
    from yolact_export.exporter.int8 import quantize_int8

    int8 = quantize_int8(exported["v1"][1], tmp_path / "v1_int8.onnx", shared_images[0].parent)
    model = Yolact(int8, "openvino")
    assert model.providers[0] == OPENVINO
    result = model(read_image(shared_images[0]))
    assert len(result) > 0 and result.masks.shape[1:] == read_image(shared_images[0]).shape[:2]


def test_the_graph_says_how_dcn_is_in_it(exported) -> None:
    from yolact_runtime.core.metadata import read_model_info

    assert read_model_info(exported["plus"][1]).dcn == "native"  # what OpenVINO's line warns about
    assert read_model_info(exported["v1"][1]).dcn is None


def test_auto_falls_back_to_cpu_when_openvino_fails_to_start(tmp_path, monkeypatch, caplog) -> None:
    import logging

    from yolact_runtime import ModelError
    from yolact_runtime.core import session

    def broken(*_args):
        raise RuntimeError("compile failed")

    monkeypatch.setattr(session, "available_providers", lambda _choice: ([CPU, OPENVINO], ""))
    monkeypatch.setattr(session, "_openvino_session", broken)
    path = save_fake_model(tmp_path / "m.onnx", random_detections())
    with caplog.at_level(logging.INFO, logger="yolact_runtime"):
        assert Yolact(path, providers="auto").providers[0] == CPU
    assert any("OpenVINO failed to start: compile failed" in r.getMessage() for r in caplog.records)
    with pytest.raises(ModelError, match="compile failed"):
        Yolact(path, providers="openvino")
