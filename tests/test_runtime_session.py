"""Execution-provider planning: auto prefers TensorRT, then CUDA, then CPU."""
from __future__ import annotations

import logging

import pytest

from yolact_runtime import ProviderError, Yolact
from yolact_runtime.core.session import CPU, CUDA, TENSORRT, cache_dir, plan_providers, provider_entries
from fakes import random_detections, save_fake_model


def test_auto_prefers_tensorrt_then_cuda_then_cpu() -> None:
    assert plan_providers("auto", [TENSORRT, CUDA, CPU])[0] == [TENSORRT, CUDA, CPU]
    chain, why = plan_providers("auto", [CUDA, CPU])
    assert chain == [CUDA, CPU] and "TensorrtExecutionProvider: not available" in why
    chain, why = plan_providers("auto", ["AzureExecutionProvider", CPU])
    assert chain == [CPU]
    assert why == ("providers auto: CPUExecutionProvider (TensorrtExecutionProvider, "
                   "CUDAExecutionProvider: not available in this onnxruntime build)")


def test_explicit_choice_that_is_missing_is_an_error() -> None:
    with pytest.raises(ProviderError, match="CUDAExecutionProvider is not available"):
        plan_providers("cuda", [CPU])
    with pytest.raises(ProviderError, match="unknown providers"):
        plan_providers("gpu", [CPU])
    assert plan_providers("cpu", [CUDA, CPU])[0] == [CPU]
    assert plan_providers("tensorrt", [TENSORRT, CPU])[0] == [TENSORRT, CPU]


def test_tensorrt_caches_engines_in_the_user_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "yolact" / "tensorrt"
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
            return model.session.get_session_options().get_session_config_entry(key)
        except Exception:  # not set: onnxruntime's default (spin, and keep spinning after a Run)
            return None

    spinning, sleeping = Yolact(path, providers="cpu"), Yolact(path, providers="cpu", spinning=False)
    assert entry(spinning, "session.intra_op.allow_spinning") in (None, "1")
    assert entry(spinning, "session.force_spinning_stop") == "1"  # the postprocess gets the cores back
    assert entry(sleeping, "session.intra_op.allow_spinning") == "0"


def test_yolact_run_opens_the_model_without_spinning(tmp_path, monkeypatch) -> None:
    """yolact-run overlaps loading and rendering with inference, so its session must not spin."""
    import yolact_runtime.pipeline.cli as cli

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
