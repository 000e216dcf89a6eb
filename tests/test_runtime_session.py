"""Engine planning (auto: TensorRT, CUDA, then OpenVINO where measured faster, then CPU) and ORT session options."""
from __future__ import annotations

import logging

import pytest

from yolact_runtime import ProviderError, Yolact
from yolact_runtime.core.cache import cache_dir
from yolact_runtime.core.plan import CPU, CUDA, OPENVINO, TENSORRT, Graph, Host, plan_providers
from yolact_runtime.core.session import provider_entries
from fakes import random_detections, save_fake_model

AMX = ("amx_bf16",)


def test_auto_prefers_tensorrt_then_cuda_then_cpu() -> None:
    assert plan_providers("auto", Host((TENSORRT, CUDA, CPU), bf16_flags=AMX))[0] == [TENSORRT, CUDA, CPU]
    chain, why = plan_providers("auto", Host((CUDA, CPU)))
    assert chain == [CUDA, CPU] and "TensorrtExecutionProvider: not available" in why
    chain, why = plan_providers("auto", Host(("AzureExecutionProvider", CPU)))
    assert chain == [CPU]
    assert why == ("providers auto: CPUExecutionProvider (no GPU provider in this onnxruntime build; OpenVINO: this "
                   "CPU has no native bf16 (AMX, AVX512-BF16), where OpenVINO is not faster than ONNX Runtime)")


def test_explicit_choice_that_is_missing_is_an_error() -> None:
    with pytest.raises(ProviderError, match="CUDAExecutionProvider is not available"):
        plan_providers("cuda", Host((CPU,)))
    with pytest.raises(ProviderError, match="unknown providers"):
        plan_providers("gpu", Host((CPU,)))
    with pytest.raises(ProviderError, match="unknown precision"):
        plan_providers("cpu", Host((CPU,)), precision="fp8")
    assert plan_providers("cpu", Host((CUDA, CPU)))[0] == [CPU]
    assert plan_providers("tensorrt", Host((TENSORRT, CPU)))[0] == [TENSORRT, CPU]
    assert plan_providers("openvino", Host((CPU,)))[0] == [OPENVINO]  # on any CPU, bf16 or not


def test_auto_takes_openvino_only_where_it_was_measured_faster() -> None:
    bf16 = Host((CPU,), bf16_flags=AMX)
    for graph in (Graph("fp32"), Graph("int8")):
        chain, why = plan_providers("auto", bf16, graph)
        assert chain == [OPENVINO] and why.startswith("providers auto: OpenVINO (native bf16 on this CPU: amx_bf16")
    not_faster = {
        (bf16, Graph("fp32"), "f32"): "f32 asked",
        (bf16, Graph("fp16"), "default"): "a fp16 graph",
        (Host((CPU,)), Graph("fp32"), "default"): "no native bf16",
        (Host((CPU,), "the OpenVINO runtime is not installed", AMX), Graph("fp32"), "default"): "not installed",
        (bf16, Graph("fp32", native_dcn=True), "default"): "yolact-export --dcn decomposed",
    }
    for (host, graph, precision), why in not_faster.items():
        chain, line = plan_providers("auto", host, graph, precision)
        assert chain == [CPU] and why in line and "\n" not in line, line
    assert plan_providers("auto", Host((CUDA, CPU), bf16_flags=AMX))[0] == [CUDA, CPU]  # a GPU first


def test_openvino_asked_where_it_cannot_run_is_one_line() -> None:
    with pytest.raises(ProviderError, match="providers openvino: the OpenVINO runtime is not installed"):
        plan_providers("openvino", Host((CPU,), "the OpenVINO runtime is not installed"))
    with pytest.raises(ProviderError, match="DeformConv .*yolact-export --dcn decomposed"):
        plan_providers("openvino", Host((CPU,)), Graph(native_dcn=True))


def test_engines_cache_in_the_user_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir("openvino") == tmp_path / "yolact" / "openvino" and cache_dir("openvino").is_dir()
    (name, options), cuda = provider_entries([TENSORRT, CUDA])
    assert name == TENSORRT and cuda == CUDA
    assert options["trt_engine_cache_enable"] is True
    assert options["trt_engine_cache_path"] == str(tmp_path / "yolact" / "tensorrt")
    assert (tmp_path / "yolact" / "tensorrt").is_dir()


def test_the_choice_is_logged_once(tmp_path, caplog) -> None:
    path = save_fake_model(tmp_path / "m.onnx", random_detections())
    with caplog.at_level(logging.INFO, logger="yolact_runtime"):
        Yolact(path, providers="auto", intra_op_threads=1, inter_op_threads=1)
    lines = [r.getMessage() for r in caplog.records if r.name == "yolact_runtime"]
    assert len(lines) == 1 and lines[0].startswith("providers auto: ")


def test_spinning_is_off_only_when_asked_and_stops_when_a_run_returns(tmp_path) -> None:
    path = save_fake_model(tmp_path / "m.onnx", random_detections())

    def entry(model: Yolact, key: str) -> str | None:
        try:
            return model.engine.session.get_session_options().get_session_config_entry(key)
        except Exception:  # not set: onnxruntime's default (spin, and keep spinning after a Run)
            return None

    spinning, sleeping = Yolact(path, providers="cpu"), Yolact(path, providers="cpu", spinning=False)
    assert entry(spinning, "session.intra_op.allow_spinning") in (None, "1")
    assert entry(spinning, "session.force_spinning_stop") == "1"  # the postprocess gets the cores back
    assert entry(sleeping, "session.intra_op.allow_spinning") == "0"


def test_yolact_run_opens_the_model_without_spinning(tmp_path, monkeypatch) -> None:
    """yolact-run overlaps loading and rendering with inference, so its session must not spin."""
    import yolact_runtime.cli as cli

    seen = {}

    class Spy(Yolact):
        def __init__(self, *args, **kwargs):
            seen.update(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(cli, "Yolact", Spy)
    path = save_fake_model(tmp_path / "m.onnx", random_detections())
    from click.testing import CliRunner

    image = tmp_path / "in"
    image.mkdir()
    result = CliRunner().invoke(cli.main, [str(image), "--model", str(path), "--out", str(tmp_path / "out")])
    assert seen.get("spinning") is False, (result.output, seen)
