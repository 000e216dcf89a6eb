"""One benchmark run: export the variants, measure every path, compare NMS, write JSON, print tables."""
from __future__ import annotations

import datetime as _dt
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from yolact_runtime.core.errors import first_line
from yolact_runtime.core.io import write_bytes

from .. import __version__
from ..detection.graph import NmsSettings
from . import machine, nms as nms_bench
from .agreement import top_agreement
from .flops import compute_rates, conv_gflop
from .measure import PathResult, measure, measure_interleaved
from .openvino_paths import openvino_path
from .paths import EnginePath, OrtPath, SkipPath, TorchPath
from .postload import postprocess_load

ALL_PATHS = ("pytorch-fp32", "pytorch-bf16", "onnx-fp32", "onnx-fp16", "onnx-int8",
             "openvino-fp32", "openvino-bf16", "openvino-int8",
             "cuda-fp32", "cuda-fp16", "tensorrt-fp32", "tensorrt-fp16")
BASELINE = "pytorch-fp32"
_PROVIDER = {"cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}


@dataclass
class BenchOptions:
    runs: int = 20
    warmup: int = 3
    threads: int | None = None
    batch: int = 1
    paths: tuple[str, ...] = ALL_PATHS
    score_threshold: float = 0.3
    nms_methods: tuple[str, ...] = nms_bench.METHODS
    nms_scenarios: tuple[str, ...] = tuple(nms_bench.SCENARIOS)
    nms_runs: int = 20
    nms_size: int = 550
    nms_classes: int = 80
    conv_bench: bool = True
    interleave: bool = True  # round-robin the paths (fair under background load); False: one after another
    force_bf16: bool = False  # measure pytorch-bf16 even without oneDNN bf16 (very slow)
    budget_s: float | None = 600.0  # per path: fewer runs (>= 1) when `runs` would take longer
    folder: Path | None = None
    calibration: Path | Sequence[Path] | None = None
    models_dir: Path | None = None  # keep the exported graphs here (default: a temporary folder)
    log: Callable[[str], None] = field(default=lambda _m: None)


def _export_all(model, nms: NmsSettings, wanted: set[str], images: Sequence[Path], options: BenchOptions,
                folder: Path) -> tuple[dict[str, Path], dict]:
    from ..exporter.export import export_onnx

    log = options.log
    graphs: dict[str, Path] = {}
    info: dict[str, dict] = {}

    def timed(key: str, fn) -> None:
        start = time.perf_counter()
        try:
            graphs[key] = fn()
        except Exception as error:  # reported in the JSON, the other paths still run
            info[key] = {"error": _failure(error)}
            log(f"{key} export failed: {info[key]['error']}")
            return
        info[key] = {"seconds": round(time.perf_counter() - start, 2),
                     "megabytes": round(graphs[key].stat().st_size / 1e6, 2)}

    if options.folder is not None or any(not p.startswith("pytorch") for p in wanted):
        timed("fp32", lambda: export_onnx(model, folder / "fp32.onnx", nms, log=log))
    if any(p.endswith("fp16") and not p.startswith("pytorch") for p in wanted):
        timed("fp16", lambda: export_onnx(model, folder / "fp16.onnx", nms, fp16=True, log=log))
    if wanted & {"onnx-int8", "openvino-int8"} and "fp32" in graphs:
        from ..exporter.int8 import quantize_int8

        calibration = options.calibration if options.calibration is not None else list(images)
        timed("int8", lambda: quantize_int8(graphs["fp32"], folder / "int8.onnx", calibration, log=log))
    return graphs, info


def _mkldnn_bf16() -> bool:
    import torch

    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else True
    except Exception:
        return True


def _make_path(name: str, model, nms: NmsSettings, graphs: dict[str, Path], options: BenchOptions, info,
               post) -> EnginePath:
    import onnxruntime as ort

    engine, precision = name.split("-")
    if name == "pytorch-bf16" and not options.force_bf16 and not _mkldnn_bf16():
        raise SkipPath("no oneDNN bf16 on this CPU (needs avx512bw/avx512_bf16/amx): torch would run bf16 "
                       "convolutions in aten::_slow_conv2d_forward, ~100x slower than fp32; name it in --paths "
                       "to measure anyway")
    if engine == "pytorch":
        note = "torch.autocast(cpu, bfloat16) around the network; decode/NMS fp32" if precision == "bf16" else ""
        return TorchPath(name, model, info, nms, False, options.threads, post,
                         autocast=None if precision == "fp32" else precision, note=note)
    if engine == "openvino":
        return openvino_path(precision, graphs, options.threads, post)
    if precision not in graphs:
        raise SkipPath(f"no {precision} graph (export failed)")
    providers = {"onnx": "cpu", "cuda": "cuda", "tensorrt": "tensorrt"}[engine]
    if providers != "cpu" and _PROVIDER[engine] not in ort.get_available_providers():
        raise SkipPath(f"{_PROVIDER[engine]} is not available in this onnxruntime build "
                       f"(available: {', '.join(ort.get_available_providers())}; pip install .[gpu])")
    note = {"fp16": "network fp16, decode/NMS fp32 (--fp16 export)",
            "int8": "QDQ int8 network (yolact-export --int8), decode/NMS/softmax fp32"}.get(precision, "")
    return OrtPath(name, graphs[precision], providers, options.threads, post, note=note)


def _failure(error: BaseException) -> str:
    return f"{type(error).__name__}: {first_line(error)[:300]}"


def _measure_paths(wanted: Sequence[str], model, nms: NmsSettings, graphs: dict[str, Path], options: BenchOptions,
                   info, post, pixels) -> dict[str, PathResult]:
    """Open every path, probe it with one run, then time the ordinary ones interleaved (round-robin)
    and the ones too slow for the budget (or all, with options.interleave off) one after another."""
    log = options.log
    results: dict[str, PathResult] = {}
    ready: list[tuple[str, EnginePath, float]] = []
    for name in wanted:
        try:
            path = _make_path(name, model, nms, graphs, options, info, post)
        except SkipPath as why:
            log(f"{name}: skipped ({why})")
            results[name] = PathResult(name, name.split("-")[0], status="skipped", note=str(why))
            continue
        try:
            start = time.perf_counter()
            chosen = pixels[:options.batch]
            for raw, image in zip(path.infer(path.preprocess(chosen)), chosen):
                path.postprocess(raw, image.shape[:2])
            ready.append((name, path, time.perf_counter() - start))
        except Exception as error:  # e.g. an op without a kernel for this provider / dtype
            log(f"{name}: failed ({_failure(error)})")
            results[name] = PathResult(name, path.device, status="failed", note=_failure(error))
            path.close()
    budget = options.budget_s
    slow = [r for r in ready if not options.interleave or (budget and r[2] * (options.warmup + options.runs) > budget)]
    fast = [r for r in ready if r not in slow]
    if fast:
        names = ", ".join(name for name, _p, _t in fast)
        log(f"{names}: {options.warmup} warm-up + {options.runs} runs each, interleaved")
        try:
            for (name, _p, _t), result in zip(fast, measure_interleaved([p for _n, p, _t in fast], pixels,
                                                                          options.runs, options.warmup,
                                                                          options.batch)):
                results[name] = result
        except Exception as error:  # measure them one by one to find the failing one
            log(f"interleaved measurement failed ({_failure(error)}); measuring one by one")
            slow, fast = fast + slow, []
    for name, path, _t in slow:
        if name in results:
            continue
        log(f"{name}: measured alone on {path.device}")
        try:
            results[name] = measure(path, pixels, options.runs, options.warmup, options.batch, budget)
            if results[name].total["runs"] < options.runs:
                log(f"{name}: {results[name].total['runs']} runs only (--path-budget {budget:.0f}s)")
        except Exception as error:
            log(f"{name}: failed ({_failure(error)})")
            results[name] = PathResult(name, path.device, status="failed", note=_failure(error))
    for _name, path, _t in ready:
        path.close()
    gc.collect()
    return {name: results[name] for name in wanted if name in results}


def run_bench(model, source: str, images: Sequence[Path], options: BenchOptions) -> dict:
    """Everything one `yolact-bench` invocation measures, as the JSON document it writes."""
    import torch
    from yolact_runtime.core.io import read_image
    from yolact_runtime.core.metadata import read_model_info
    from yolact_runtime.core.postprocess import PostprocessOptions

    log = options.log
    if options.threads:
        torch.set_num_threads(options.threads)
    config = model.config
    nms = NmsSettings.from_config(config)
    pixels = [read_image(p) for p in images]
    wanted = [p for p in ALL_PATHS if p in options.paths]
    doc: dict = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "yolact_export": __version__,
        "machine": machine.describe(options.threads),
        "model": {"config": config.name, "input_size": config.max_size, "source": source,
                  "classes": config.num_classes - 1, "priors": int(model.priors.shape[0]),
                  "yolact_plus": bool(config.use_maskiou)},
        "settings": {"runs": options.runs, "warmup": options.warmup, "batch": options.batch,
                     "path_budget_s": options.budget_s,
                     "mode": "interleaved" if options.interleave else "sequential",
                     "threads": options.threads, "score_threshold": options.score_threshold,
                     "masks": "image", "images": [str(p) for p in images],
                     "nms": {"score_threshold": nms.score_threshold, "iou_threshold": nms.iou_threshold,
                             "top_k": nms.top_k, "max_detections": nms.max_detections}},
        "paths": {},
    }
    post = PostprocessOptions(score_threshold=options.score_threshold)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(options.models_dir) if options.models_dir else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        graphs, exports = _export_all(model, nms, set(wanted), images, options, folder)
        doc["exports"] = exports
        info = read_model_info(graphs["fp32"]) if "fp32" in graphs else None
        if info is None:  # torch-only run: the metadata the export would have written
            from ..exporter.export import build_metadata
            from ..detection.graph import YolactDetector
            from yolact_runtime.core.metadata import parse_metadata

            names = YolactDetector(model, nms).output_names
            info = parse_metadata(build_metadata(config, nms, names), "bench")
        results = _measure_paths(wanted, model, nms, graphs, options, info, post, pixels)
        base = results.get(BASELINE)
        reference = results.get("onnx-fp32")
        for name, result in results.items():
            entry = result.to_dict()
            if result.status == "ok" and base is not None and base.status == "ok":
                entry["speedup_vs_pytorch_fp32"] = round(base.total["median_ms"] / result.total["median_ms"], 3)
                entry["stage_speedup_vs_pytorch_fp32"] = {
                    s: round(base.stages[s]["median_ms"] / max(result.stages[s]["median_ms"], 1e-9), 3)
                    for s in result.stages}
                entry["agreement_vs_pytorch_fp32"] = top_agreement(base.first_raws, result.first_raws)
            compared = name == "onnx-int8" or name.startswith("openvino-")
            if compared and result.status == "ok" and reference is not None and reference.status == "ok":
                entry["agreement_vs_onnx_fp32"] = top_agreement(reference.first_raws, result.first_raws)
            doc["paths"][name] = entry
        if reference is not None and reference.status == "ok":
            doc["postprocess_load"] = postprocess_load(reference.first_raws, info.class_names, reference.stages,
                                                       options.runs, options.warmup)
        if "int8" in graphs:
            from .kernels import optimized_op_counts

            counts = optimized_op_counts(graphs["int8"], options.threads)
            doc["int8"] = {"ort_cpu_ops_after_fusion": {k: v for k, v in sorted(counts.items())
                                                         if k.startswith(("QLinear", "Quantize", "Dequantize", "Conv",
                                                                          "QGemm", "MatMulInteger", "ConvInteger",
                                                                          "FusedConv"))}}
        if "fp16" in graphs and doc["paths"].get("onnx-fp16", {}).get("status") == "ok":
            from .kernels import fp16_fallback_casts

            casts = fp16_fallback_casts(graphs["fp16"], options.threads)
            doc["fp16"] = {"ort_cpu_inserted_fp32_casts": casts, "note": (
                "onnxruntime has no fp16 kernels for these ops on this CPU: it casts to fp32 and back"
                if casts else "onnxruntime ran the fp16 nodes natively")}
        if options.conv_bench:
            from .kernels import conv_int8_vs_fp32

            log("conv micro-benchmark: fp32 vs int8 (QLinearConv)")
            doc.setdefault("int8", {})["conv_microbench"] = conv_int8_vs_fp32(options.threads, runs=options.runs,
                                                                              warmup=options.warmup)
        doc["compute"] = compute_rates(conv_gflop(model), doc["paths"], doc.get("int8", {}).get("conv_microbench"))
        if "int8" in doc:
            doc["int8"]["cpu_int8_kernel"] = doc["machine"]["int8_kernel"]
        if options.folder is not None and "fp32" in graphs:
            from .folder import folder_run

            log(f"folder run over {options.folder}")
            doc["folder"] = folder_run(graphs["fp32"], options.folder, options.threads, options.score_threshold)
    if options.nms_methods:
        doc["nms"] = nms_bench.run_nms_comparison(nms, options.nms_runs, min(options.warmup, 3), options.threads,
                                                  options.nms_size, options.nms_classes, options.nms_methods,
                                                  options.nms_scenarios, log=log)
    try:
        doc["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    return doc


def write_json(doc: dict, out_dir: Path, name: str) -> Path:
    path = out_dir / f"{name}.json"
    write_bytes(path, (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
    return path
