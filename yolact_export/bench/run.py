"""One benchmark run: export the graphs, time every path round-robin, compare, as one JSON document."""
from __future__ import annotations

import datetime as _dt
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from yolact_runtime.tools import read_image
from yolact_runtime.contract import DEFAULT_SCORE_THRESHOLD
from yolact_runtime.parity import from_result, top_agreement

from .. import __version__
from ..detection.graph import NmsSettings
from ..exporter.export import export_onnx
from ..exporter.int8 import quantize_int8
from . import machine
from .measure import StageRecorder, time_round_robin
from .paths import ALL_PATHS, SkipPath, runtime_path, torch_path
from .postload import postprocess_load

BASELINE, WARMUP = "pytorch-fp32", 3


@dataclass
class BenchOptions:
    runs: int = 20
    threads: int | None = None
    paths: tuple[str, ...] = ALL_PATHS
    force_bf16: bool = False  # measure pytorch-bf16 even without oneDNN bf16 (very slow)
    calibration: Path | None = None  # INT8 calibration images (default: the bench images)
    log: Callable[[str], None] = field(default=lambda _m: None)


def _failure(error: BaseException) -> str:
    return f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0][:300]}"


def _export(model, nms, options: BenchOptions, images: list[Path], folder: Path) -> dict[str, Path]:
    """The graphs the chosen paths need (fp32 always: PyTorch's pre- and postprocessing and the
    postprocess load run on its Yolact); a failed export is logged, its paths are skipped."""
    need = {"fp32": True, "fp16": any(p.endswith("fp16") for p in options.paths),
            "int8": bool({"onnx-int8", "openvino-int8"} & set(options.paths))}
    graphs = {}
    for kind in (k for k, needed in need.items() if needed and (k != "int8" or "fp32" in graphs)):
        try:
            graphs[kind] = (quantize_int8(graphs["fp32"], folder / "int8.onnx", options.calibration or images,
                                          log=options.log) if kind == "int8" else
                            export_onnx(model, folder / f"{kind}.onnx", nms, fp16=kind == "fp16", log=options.log))
        except Exception as error:  # the other paths still run
            options.log(f"{kind} export failed: {_failure(error)}")
    return graphs


def _agreements(entries: dict, results: dict) -> None:
    """Each path against PyTorch fp32 (INT8 and OpenVINO also against ONNX fp32), by parity's matcher."""
    for name, entry in ((n, entries[n]) for n in results):
        if BASELINE in results:
            entry["speedup_vs_pytorch_fp32"] = round(entries[BASELINE]["total"]["median_ms"]
                                                     / entry["total"]["median_ms"], 3)
            entry["agreement_vs_pytorch_fp32"] = top_agreement(results[BASELINE], results[name])
        if (name == "onnx-int8" or name.startswith("openvino-")) and "onnx-fp32" in results:
            entry["agreement_vs_onnx_fp32"] = top_agreement(results["onnx-fp32"], results[name])


def _measure(model, nms, graphs: dict, pixels: list, options: BenchOptions) -> tuple[dict, dict]:
    """Open and probe each path (a skip or failure is reported), time the others round-robin, compare
    them: the entries, and each recorder (its first raw outputs and results per image)."""
    entries, recorders = {}, {}
    for name in (p for p in ALL_PATHS if p in options.paths):
        path = None
        try:
            path = (torch_path(name, model, nms, graphs, options.force_bf16) if name.startswith("pytorch")
                    else runtime_path(name, graphs, options.threads))
            (recorder := StageRecorder(path.engine, pixels))()
            recorders[name] = recorder
            entries[name] = {"device": path.device, "status": "ok", **({"note": path.note} if path.note else {})}
        except Exception as error:  # SkipPath: it cannot run here; else e.g. an op without a kernel for this provider
            status, note = ("skipped", str(error)) if isinstance(error, SkipPath) else ("failed", _failure(error))
            options.log(f"{name}: {status} ({note})")
            entries[name] = {"device": path.device if path else name.split("-")[0], "status": status, "note": note}
    options.log(f"{', '.join(recorders)}: {WARMUP} warm-up + {options.runs} runs each, round-robin")
    totals = time_round_robin(recorders, options.runs, WARMUP, settle=True) if recorders else {}
    for name, recorder in recorders.items():
        entries[name].update(recorder.summary(totals[name], 1 + WARMUP))
    _agreements(entries, {n: [from_result(r) for r in rec.first_results] for n, rec in recorders.items()})
    return entries, recorders


def run_bench(model, source: str, images: Sequence[Path], options: BenchOptions) -> dict:
    """Everything one `yolact-bench` invocation measures, as the JSON document it writes."""
    config, nms = model.config, NmsSettings.from_config(model.config)
    options.log(f"{source}: {config.name} at {config.max_size}")
    doc: dict = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "yolact_export": __version__,
        "machine": machine.describe(options.threads),
        "model": {"config": config.name, "input_size": config.max_size, "source": source,
                  "classes": config.num_classes - 1, "priors": int(model.priors.shape[0]),
                  "yolact_plus": bool(config.use_maskiou)},
        "settings": {"runs": options.runs, "warmup": WARMUP, "mode": "interleaved", "threads": options.threads,
                     "score_threshold": DEFAULT_SCORE_THRESHOLD, "masks": "image",
                     "images": [str(p) for p in images], "nms": vars(nms)}}
    with tempfile.TemporaryDirectory() as tmp:
        graphs = _export(model, nms, options, list(images), Path(tmp))
        doc["paths"], recorders = _measure(model, nms, graphs, [read_image(p) for p in images], options)
        if "onnx-fp32" in recorders:
            doc["postprocess_load"] = postprocess_load(graphs["fp32"], recorders["onnx-fp32"].first_raws,
                                                       doc["paths"]["onnx-fp32"]["stages"], options.runs, WARMUP)
    doc["machine"]["load_average_end"] = machine.load_average()
    return doc
