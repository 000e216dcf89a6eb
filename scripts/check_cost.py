"""What `yolact-check` costs in CI: wall time of each mode on the test photos, side by side in one run.

    python scripts/check_cost.py [--config yolact_resnet50] [--size 550] [--providers cpu]

Lively random weights (yolact_export.model.random_weights, as the tests use), saved and exported like a user's
checkpoint. Each command runs as a fresh process (as a CI step does: imports, model load and, for
--weights, the PyTorch model included). Writes benchmarks/results/check-cost-<config>-<size>.json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO / "tests" / "data" / "photos"


def timed(command: list[str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    lines = (run.stdout + run.stderr).strip().splitlines()
    return time.perf_counter() - start, run.returncode, lines[0] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="yolact_resnet50")
    parser.add_argument("--size", type=int, default=550)
    parser.add_argument("--providers", default="cpu")
    args = parser.parse_args()
    load_at_start = [round(v, 2) for v in os.getloadavg()]

    from yolact_export import build_model, get_config, load_checkpoint
    from yolact_export.bench.machine import describe
    from yolact_export.exporter.export import export_onnx
    from yolact_export.model.random_weights import make_lively
    from yolact_export.detection.preprocess import preprocess
    from yolact_runtime.tools import read_image

    images = sorted(PHOTOS.glob("*.png"))
    cfg = get_config(args.config).at_size(args.size)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        weights = work / f"{args.config}_{args.size}.pth"
        model = make_lively(build_model(cfg), preprocess([read_image(p) for p in images], cfg), seed=0)
        torch.save(model.state_dict(), weights)
        onnx_path = export_onnx(load_checkpoint(weights, input_size=args.size)[0], work / "model.onnx")
        golden = work / "golden.json"
        steps = {
            "yolact-run --json (writes the golden file)": [py, "-m", "yolact_runtime", *map(str, images), "--model",
                                                           str(onnx_path), "--out", str(work / "out"), "--json",
                                                           str(golden), "--score-threshold", "0", "--no-overlays",
                                                           "--quiet", "--providers", args.providers],
            "yolact-check --golden (no torch)": [py, "-m", "yolact_runtime.parity", "--model", str(onnx_path),
                                                 "--golden", str(golden), "--providers", args.providers,
                                                 "--score-threshold", "0", *map(str, images)],
            "yolact-check --weights (PyTorch reference)": [py, "-m", "yolact_runtime.parity", "--weights",
                                                           str(weights), "--model", str(onnx_path), "--providers",
                                                           args.providers, "--score-threshold", "0",
                                                           *map(str, images)],
        }
        results = {}
        for name, command in steps.items():
            seconds, code, first_line = timed(command)
            results[name] = {"seconds": round(seconds, 1), "exit": code, "first_line": first_line}
            print(f"{name:45s} {seconds:6.1f} s  exit {code}  {first_line}")
    record = {"created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": describe(), "load_average_at_start": load_at_start,
              "load_average_end": [round(v, 2) for v in os.getloadavg()], "config": args.config,
              "input_size": args.size, "images": len(images),
              "providers": args.providers, "steps": results,
              "note": "fresh processes; shared machine: expect +-15 %; on a GPU provider the ONNX side shrinks, "
                      "the --weights reference stays a CPU PyTorch run"}
    out = REPO / "benchmarks" / "results" / f"check-cost-{args.config}-{args.size}.json"
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
