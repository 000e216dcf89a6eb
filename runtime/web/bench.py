"""ms per stage of the browser runtime (wasm, headless Chromium) next to ONNX Runtime CPU from Python.

    .venv/bin/python runtime/web/bench.py [--runs 10] [--out benchmarks/results/web-wasm.json]

For the shipped shapes model and yolact_resnet50@550 with lively random weights (as yolact-bench
--random makes them, seed 0), both exported to a temp folder: the demo page (runtime/web/browser.mjs)
times preprocess / inference / postprocess of model.predict on a decoded image, at 1 and 2 wasm
threads; yolact_runtime times the same stages on the same image at 1 and 2 intra-op threads. One
machine, one run, medians; the ratios are wasm / Python at the same thread count.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "runtime" / "web"
MODELS = {"yolact_shapes-320": ROOT / "examples" / "shapes" / "images" / "000002.jpg",
          "yolact_resnet50-550-random": ROOT / "tests" / "data" / "photos" / "yolact_example_0.png"}
THREADS = (1, 2)
SCORE_THRESHOLD = 0.3


def export(name: str, folder: Path) -> Path:
    import cv2

    from yolact_export import build_model, get_config, load_checkpoint
    from yolact_export.detection.preprocess import preprocess
    from yolact_export.exporter.export import export_onnx
    from yolact_export.model.random_weights import make_lively

    if name.startswith("yolact_shapes"):
        model = load_checkpoint(ROOT / "models" / "yolact_shapes.pth")[0]
    else:
        photos = sorted((ROOT / "tests" / "data" / "photos").glob("*.png"))[:8]
        model = build_model(get_config("yolact_resnet50"))
        model = make_lively(model, preprocess([cv2.imread(str(p)) for p in photos], model.config), seed=0)
    return export_onnx(model.eval(), folder / f"{name}.onnx")


def browser_stages(url: str, model: Path, image: Path, threads: int, runs: int, folder: Path) -> dict:
    job = folder / "job.json"
    steps = [{"model": str(model)}, {"image": str(image), "threshold": SCORE_THRESHOLD},
             {"time": runs + 1, "threshold": SCORE_THRESHOLD}]
    job.write_text(json.dumps({"url": url, "threads": threads, "steps": steps}))
    proc = subprocess.run(["node", str(WEB / "browser.mjs"), str(job)], capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        sys.exit(f"web bench: {proc.stderr.strip()}")
    out = json.loads(proc.stdout)
    if out["steps"][1]["message"]:
        sys.exit(f"web bench: {out['steps'][1]['message']}")
    timed = out["steps"][2]
    seconds = {s: [run[s] / 1000 for run in timed["runs"][1:]] for s in ("preprocess", "inference", "postprocess")}
    return {"browser": out["browser"], "provider": timed["provider"], **_stages(seconds)}


def python_stages(model: Path, image: Path, threads: int, runs: int) -> dict:
    from yolact_export.bench.measure import StageRecorder
    from yolact_runtime import Yolact
    from yolact_runtime.core.io import read_image

    engine = Yolact(model, providers="cpu", intra_op_threads=threads, score_threshold=SCORE_THRESHOLD)
    recorder = StageRecorder(engine, [read_image(image)])
    for _ in range(runs + 1):
        recorder()
    return _stages({s: v[1:] for s, v in recorder.stages.items()})


def _stages(seconds: dict[str, list[float]]) -> dict:
    from yolact_export.bench.measure import stage_summary

    summary = stage_summary(seconds)
    summary["total_median_ms"] = round(sum(t["median_ms"] for t in summary["stages"].values()), 3)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "web-wasm.json")
    args = parser.parse_args()
    from yolact_export.bench.machine import describe, load_average
    from yolact_runtime.core.io import write_json

    server = subprocess.Popen([sys.executable, str(ROOT / "examples" / "web" / "serve.py"), "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    doc = {"created": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
           "command": "python runtime/web/bench.py " + " ".join(sys.argv[1:]), "machine": describe(max(THREADS)),
           "settings": {"runs": args.runs, "warmup": 2, "score_threshold": SCORE_THRESHOLD,
                        "stages": "model.predict on a decoded image: preprocess, inference, postprocess (masks at image size)"},
           "models": {}}
    try:
        url = server.stdout.readline().split(": ", 1)[1].strip()
        with tempfile.TemporaryDirectory() as folder:
            for name, image in MODELS.items():
                model = export(name, Path(folder))
                entry = doc["models"][name] = {"image": str(image.relative_to(ROOT)), "threads": {}}
                for threads in THREADS:
                    wasm = browser_stages(url, model, image, threads, args.runs, Path(folder))
                    python = python_stages(model, image, threads, args.runs)
                    ratio = round(wasm["total_median_ms"] / python["total_median_ms"], 2)
                    entry["threads"][str(threads)] = {"wasm": wasm, "onnxruntime_cpu": python, "wasm_over_python": ratio}
                    print(f"{name} {threads} thread(s): wasm {_line(wasm)} | ORT CPU {_line(python)} | x{ratio}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    doc["machine"]["load_average_end"] = load_average()
    write_json(args.out, doc)
    print(f"wrote {args.out}")
    return 0


def _line(result: dict) -> str:
    return " ".join(f"{s} {t['median_ms']:.1f}" for s, t in result["stages"].items()) + f" = {result['total_median_ms']:.1f} ms"


if __name__ == "__main__":
    sys.exit(main())
