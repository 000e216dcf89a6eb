"""Where the engine time of the two exporters' graphs goes: ORT CPU profiling summed per op type.

Lively random weights of CONFIG, exported with both exporters; both sessions profiled in one process,
runs interleaved (background load falls on both alike). Prints ms per run per op type side by side,
records benchmarks/results/profile-exporters-<config>-<size>.json with the machine and load average.

    nice -n 15 .venv/bin/python scripts/profile_exporters.py yolact_resnet50 --runs 6
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
from pathlib import Path

import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import exporters as bench  # noqa: E402  (benchmarks/exporters.py)


def op_times(profile: Path, runs: int) -> dict[str, float]:
    """ms per run per op type, from ORT's chrome-trace profile (the warm-up run dropped)."""
    events = json.loads(profile.read_text())
    per_op: collections.Counter[str] = collections.Counter()
    for event in events:
        args = event.get("args", {})
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time") and "op_name" in args:
            per_op[args["op_name"]] += event["dur"] / 1000.0
    return {op: round(ms / (runs + 1), 2) for op, ms in per_op.most_common()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import cv2

    from yolact_export import load_checkpoint
    from yolact_export.bench.machine import describe
    from yolact_export.detection.preprocess import preprocess
    from yolact_export.exporter.export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model, cfg = load_checkpoint(bench.lively_checkpoint(work, args.config, None))
        image = preprocess([cv2.imread(str(sorted(bench.PHOTOS.glob("*.png"))[0]))], cfg).numpy()
        sessions = {}
        for exporter in bench.EXPORTERS:
            path = export_onnx(model, work / f"{exporter}.onnx", exporter=exporter)
            options = ort.SessionOptions()
            options.intra_op_num_threads = args.threads
            options.enable_profiling = True
            options.profile_file_prefix = str(work / exporter)
            sessions[exporter] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        load_before = describe(args.threads)["load_average"]
        for _ in range(args.runs + 1):
            for session in sessions.values():
                session.run(None, {"images": image})
        times = {name: op_times(Path(s.end_profiling()), args.runs) for name, s in sessions.items()}
    ops = sorted(set().union(*times.values()), key=lambda op: -max(t.get(op, 0.0) for t in times.values()))
    print(f"{'op':24s} {'torchscript ms':>15s} {'dynamo ms':>10s}")
    for op in ops:
        print(f"{op:24s} {times['torchscript'].get(op, 0.0):15.2f} {times['dynamo'].get(op, 0.0):10.2f}")
    totals = {name: round(sum(t.values()), 1) for name, t in times.items()}
    print(f"{'sum of kernels':24s} {totals['torchscript']:15.1f} {totals['dynamo']:10.1f}")
    out = bench.RESULTS / f"profile-exporters-{cfg.name}-{cfg.max_size}.json"
    out.write_text(json.dumps({"config": cfg.name, "input_size": cfg.max_size, "runs": args.runs,
                               "ms_per_run_by_op": times, "kernel_ms_per_run": totals,
                               "load_average_before": load_before, "machine": describe(args.threads)}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
