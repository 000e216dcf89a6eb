"""The TorchScript and the torch.export (dynamo) exporter side by side, one config per run.

For lively random weights of CONFIG (saved as an official-style checkpoint): export with both exporters,
run `yolact-check --profile exact` on the dynamo graph against the PyTorch reference on the test photos,
compare the two graphs' detections (ONNX Runtime CPU), and record nodes, op histogram, file size and
(--time) the ORT CPU engine time of both, timed round-robin in one process.

    nice -n 15 .venv/bin/python benchmarks/exporters.py yolact_resnet50 --time
writes benchmarks/results/exporters-yolact_resnet50-550.json (with the machine: CPU model, ISA flags).
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import torch

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "tests" / "data" / "photos"
RESULTS = ROOT / "benchmarks" / "results"
EXPORTERS = ("torchscript", "dynamo")


def lively_checkpoint(directory: Path, config: str, size: int | None) -> Path:
    from yolact_export import build_model, get_config
    from yolact_export.detection.preprocess import preprocess
    from yolact_export.model.random_weights import make_lively

    cfg = get_config(config)
    cfg = cfg.at_size(size) if size else cfg
    images = [cv2.imread(str(p)) for p in sorted(PHOTOS.glob("yolact_example_?.png"))]
    model = make_lively(build_model(cfg), preprocess(images, cfg), seed=0)
    path = directory / (f"{config}_im{size}_54_800000.pth" if size else f"{config}_54_800000.pth")  # official naming
    torch.save(model.state_dict(), path)
    return path


def graph_stats(path: Path) -> dict:
    graph = onnx.load(str(path), load_external_data=False).graph
    ops = collections.Counter(node.op_type for node in graph.node)
    return {"nodes": len(graph.node), "file_bytes": path.stat().st_size, "ops": dict(sorted(ops.items()))}


def yolact_check(weights: Path, model: Path, report: Path) -> dict:
    command = [str(Path(sys.executable).parent / "yolact-check"), "--weights", str(weights), "--model", str(model),
               "--profile", "exact", "--providers", "cpu", "--score-threshold", "0", "--json", str(report),
               str(PHOTOS)]
    proc = subprocess.run(command, capture_output=True, text=True)
    return {"exit_status": proc.returncode, "passed": proc.returncode == 0,
            "summary": proc.stdout.strip().splitlines()[-3:], "stderr": proc.stderr.strip()[-500:]}


def compare_graphs(paths: dict[str, Path], images: torch.Tensor) -> dict:
    """Dynamo against TorchScript on the same inputs: matched detections and the largest differences."""
    from yolact_export.exporter.parity import ParityReport, add_image

    sessions = {name: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for name, p in paths.items()}
    report = ParityReport()
    for x in images.split(1):
        outs = {name: {o.name: v[0] for o, v in zip(s.get_outputs(), s.run(None, {"images": x.numpy()}))}
                for name, s in sessions.items()}
        add_image(report, outs["torchscript"], outs["dynamo"])
    return {"ok": report.ok, "summary": report.summary(), "detections": report.detections,
            "unmatched": report.unmatched, "max_box_diff": report.max_box_diff,
            "max_score_diff": report.max_score_diff, "max_coeff_diff": report.max_coeff_diff,
            "max_mask_diff": report.max_mask_diff, "max_mask_score_diff": report.max_mask_score_diff}


def engine_times(paths: dict[str, Path], image: np.ndarray, runs: int, threads: int) -> dict:
    from yolact_export.bench.measure import summarize, time_round_robin

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # alternating engines
    sessions = {name: ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
                for name, p in paths.items()}
    calls = {name: (lambda s=s: s.run(None, {"images": image})) for name, s in sessions.items()}
    seconds = time_round_robin(calls, runs, warmup=2, settle=True)
    out = {name: summarize(s) for name, s in seconds.items()}
    out["dynamo_over_torchscript"] = round(out["dynamo"]["median_ms"] / out["torchscript"]["median_ms"], 3)
    return out


def table_row(result: dict) -> str:
    """One README row from a results file (a --check-only file has no TorchScript columns)."""
    ts, dy = result["exporters"].get("torchscript"), result["exporters"]["dynamo"]
    timing, diff = result.get("engine_time"), result.get("dynamo_vs_torchscript")
    nodes = f"{ts['nodes']} → {dy['nodes']}" if ts else f"– → {dy['nodes']}"
    size = f"{ts['file_bytes'] / 1e6:.1f} → {dy['file_bytes'] / 1e6:.1f} MB" if ts else f"{dy['file_bytes'] / 1e6:.1f} MB"
    ms = (f"{timing['torchscript']['median_ms']:.0f} → {timing['dynamo']['median_ms']:.0f} ms "
          f"(×{timing['dynamo_over_torchscript']:.2f})" if timing else "")
    largest = ""
    if diff:
        largest = (f"{diff['unmatched']} of {diff['detections']} unmatched; box {diff['max_box_diff']:.1e}, "
                   f"score {diff['max_score_diff']:.1e}, coeff {diff['max_coeff_diff']:.1e}")
        largest += f", mask {diff['max_mask_diff']:.1e}" if result["dcn"] else ""
    check = "pass" if result["dynamo_check_exact"]["passed"] else "FAIL"
    name = f"{result['config']}@{result['input_size']}" + (f" ({result['dcn']} DCN)" if result["dcn"] else "")
    return f"| {name} | {nodes} | {size} | {ms} | {largest} | {check} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="a config name, or `table`: print the README table of the results files")
    parser.add_argument("--input-size", type=int, default=None)
    parser.add_argument("--dcn", choices=("native", "decomposed"), default="native")
    parser.add_argument("--time", action="store_true", help="Also time the ORT CPU engine of both graphs.")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check-only", action="store_true",
                        help="Only export with dynamo and run yolact-check; update the results file's check.")
    args = parser.parse_args()
    if args.config == "table":
        for path in sorted(RESULTS.glob("exporters-*.json")):
            print(table_row(json.loads(path.read_text())))
        return

    from yolact_export import load_checkpoint
    from yolact_export.bench.machine import describe
    from yolact_export.detection.preprocess import preprocess
    from yolact_export.exporter.export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        weights = lively_checkpoint(work, args.config, args.input_size)
        model, cfg = load_checkpoint(weights)
        dcn = f"-{args.dcn}" if cfg.has_dcn and args.dcn != "native" else ""
        out = RESULTS / f"exporters-{cfg.name}-{cfg.max_size}{dcn}.json"
        result: dict = {"created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                        "config": cfg.name, "input_size": cfg.max_size, "dcn": args.dcn if cfg.has_dcn else None,
                        "weights": "lively random (yolact_export.model.random_weights, seed 0)", "exporters": {}}
        if args.check_only and out.is_file():
            result = json.loads(out.read_text())
        paths = {}
        for exporter in ("dynamo",) if args.check_only else EXPORTERS:
            start = time.perf_counter()
            paths[exporter] = export_onnx(model, work / f"{exporter}.onnx", dcn=args.dcn, exporter=exporter)
            result["exporters"][exporter] = {"export_s": round(time.perf_counter() - start, 1),
                                             **graph_stats(paths[exporter])}
        result.pop("torchscript_check_exact", None)
        result["dynamo_check_exact"] = yolact_check(weights, paths["dynamo"], work / "check.json")
        if not args.check_only:
            images = preprocess([cv2.imread(str(p)) for p in sorted(PHOTOS.glob("*.png"))], cfg)
            result["dynamo_vs_torchscript"] = compare_graphs(paths, images)
            if args.time:
                result["engine_time"] = engine_times(paths, images[:1].numpy(), args.runs, args.threads)
        result["machine"] = describe(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
