"""C++ runtime (runtime/cpp) vs Python runtime (yolact_runtime), side by side in one run.

Per stage (preprocess, engine, postprocess; medians over runs) at 640x481 and 1280x720, each mask
mode, on a graph with 100 detections (tests/contract_models.py: constant detections, so the
engine stage is near zero there and the postprocess is what differs) and on the shipped model
(models/yolact_shapes.pth, exported here: a real engine). Then end to end: yolact-cpp-run vs
yolact-run on a folder of 24 frames at 1280x720 (the shapes examples, upscaled), score
threshold 0, 2 threads. Writes benchmarks/results/cpp-vs-python.json with the CPU model and flags.

    make cpp && .venv/bin/python benchmarks/cpp_vs_python.py [--runs 20]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "cpp" / "build"
sys.path.insert(0, str(REPO / "tests"))  # contract_models: the 100-detection graph

from contract_models import make_contract_model  # noqa: E402
from yolact_runtime import Yolact  # noqa: E402
from yolact_runtime.tools import cpu_info  # noqa: E402

MODES = ("image", "proto", "rle", "none")
SIZES = ((481, 640), (720, 1280))
THREADS = 2


def python_stages(model: Path, mode: str, frame: np.ndarray, runs: int) -> dict:
    yolact = Yolact(model, providers="cpu", masks=mode, intra_op_threads=THREADS)
    times: dict[str, list[float]] = {"preprocess": [], "engine": [], "postprocess": []}
    detections = 0
    for run in range(runs + 1):  # the first warms up
        t0 = time.perf_counter()
        batch = yolact.preprocess([frame])
        t1 = time.perf_counter()
        raw = yolact.infer(batch)[0]
        t2 = time.perf_counter()
        result = yolact.postprocess(raw, frame.shape[:2])
        t3 = time.perf_counter()
        detections = len(result)
        del result
        if run:
            for stage, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
                times[stage].append(seconds)
    return {"detections": detections, **{f"{s}_ms": round(1e3 * statistics.median(v), 3) for s, v in times.items()}}


def cpp_stages(model: Path, mode: str, frame_path: Path, runs: int) -> dict:
    out = subprocess.run([BUILD / "yolact-cpp-probe", "stages", mode, str(runs), str(THREADS), model, frame_path],
                         capture_output=True, text=True, check=True).stdout
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in json.loads(out).items()}


def median_of(rounds: list[dict]) -> dict:
    return {k: (statistics.median(r[k] for r in rounds) if k.endswith("_ms") else rounds[0][k]) for k in rounds[0]}


def stage_rows(model: Path, frames: dict, runs: int, rounds: int = 3) -> list[dict]:
    """Python and C++ alternate, `rounds` times `runs` frames each: a shared machine's load hits both."""
    rows = []
    for (h, w), path in frames.items():
        frame = cv2.imread(str(path))
        for mode in MODES:
            py_rounds, cc_rounds = [], []
            for _ in range(rounds):
                py_rounds.append(python_stages(model, mode, frame, runs))
                cc_rounds.append(cpp_stages(model, mode, path, runs))
            py, cc = median_of(py_rounds), median_of(cc_rounds)
            row = {"size": f"{w}x{h}", "masks": mode, "python": py, "cpp": cc,
                   "postprocess_ratio_cpp_over_python": round(cc["postprocess_ms"] / py["postprocess_ms"], 3)}
            print(json.dumps(row))
            rows.append(row)
    return rows


def end_to_end(model: Path, folder: Path, work: Path, repeats: int = 3) -> dict:
    cpp = [BUILD / "yolact-cpp-run", model, folder, "--json", work / "c.json", "--threads", THREADS,
           "--score-threshold", "0"]
    python = [sys.executable, "-m", "yolact_runtime", folder, "--model", model, "--json", work / "p.json",
              "--out", work / "py", "--no-overlays", "--threads", THREADS, "--score-threshold", "0", "--quiet",
              "--providers", "cpu"]
    seconds: dict[str, list[float]] = {"cpp": [], "python": []}
    for _ in range(repeats):  # alternating
        for name, command in (("cpp", cpp), ("python", python)):
            t0 = time.perf_counter()
            subprocess.run([str(c) for c in command], check=True, capture_output=True)
            seconds[name].append(time.perf_counter() - t0)
    cpp_s, python_s = (round(statistics.median(v), 3) for v in seconds.values())
    detections = len(json.loads((work / "c.json").read_text()))
    return {"frames": 24, "size": "1280x720", "detections": detections, "cpp_s": cpp_s, "python_s": python_s,
            "ratio_cpp_over_python": round(cpp_s / python_s, 3),
            "note": f"median wall time of {repeats}, alternating, process start included; yolact-run on ONNX "
                    "Runtime's CPU provider (as yolact-cpp-run); both write COCO JSON with RLE masks"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="frames per round (3 rounds, alternating)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "cpp-vs-python.json")
    args = parser.parse_args()
    from yolact_export import load_checkpoint
    from yolact_export.exporter.export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        hundred = make_contract_model(work / "hundred.onnx", valid=100, seed=3)
        shipped = export_onnx(load_checkpoint(REPO / "models" / "yolact_shapes.pth")[0], work / "shapes.onnx")
        photo = cv2.imread(str(REPO / "tests" / "data" / "photos" / "yolact_example_0.png"))
        frames = {}
        for h, w in SIZES:
            frames[(h, w)] = work / f"frame_{w}x{h}.png"
            cv2.imwrite(str(frames[(h, w)]), cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA))
        folder = work / "frames"
        folder.mkdir()
        shapes = sorted((REPO / "examples" / "shapes" / "images").glob("*.jpg"))
        for i in range(24):
            image = cv2.resize(cv2.imread(str(shapes[i % len(shapes)])), (1280, 720), interpolation=cv2.INTER_LINEAR)
            cv2.imwrite(str(folder / f"{i:03d}.png"), image)
        model_name, flags, ids = cpu_info()
        result = {
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": "benchmarks/cpp_vs_python.py --runs " + str(args.runs),
            "load_average_at_start": [round(v, 2) for v in __import__("os").getloadavg()],
            "machine": {"cpu": model_name, "cpu_id": ids, "isa_flags": sorted(flags & {
                "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile"}),
                        "threads": THREADS},
            "hundred_detections": stage_rows(hundred, frames, args.runs),
            "shipped_model": stage_rows(shipped, frames, args.runs),
            "end_to_end": end_to_end(shipped, folder, work),
        }
        print(json.dumps(result["end_to_end"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(result, indent=1) + "\n")
    tmp_out.replace(args.out)


if __name__ == "__main__":
    main()
