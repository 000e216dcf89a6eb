"""A folder run as yolact-run does it (decode, preprocess, inference, postprocess, write): stage times
one image at a time, then yolact_runtime's pipelined Runner, with and without overlays; keeps_up is its
images/s over 1 / (median engine time), 1.0 when the pipeline hides all the rest."""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from yolact_runtime import Yolact
from yolact_runtime.core.io import read_image, write_image, write_json
from yolact_runtime.pipeline.discover import discover
from yolact_runtime.pipeline.job import NullReporter, RunOptions, Tally
from yolact_runtime.pipeline.layout import OutputLayout
from yolact_runtime.pipeline.records import detections, image_record
from yolact_runtime.pipeline.runner import Runner

from yolact_export.bench.machine import describe
from yolact_export.bench.measure import Laps, stage_summary, summarize
from record import write_record  # benchmarks/record.py (the script's own folder is on sys.path)

STAGES = ("decode", "preprocess", "inference", "postprocess", "write")
WORKERS = 2


def _sequential(model, items, out: Path) -> dict[str, list[float]]:
    """Each image through the stages one after another (after one warm-up image): seconds per stage."""
    layout = OutputLayout(out, overlays=True, masks=False)
    seconds: dict[str, list[float]] = {s: [] for s in STAGES}
    for item in [items[0], *items]:
        laps = Laps(seconds)
        image = read_image(item.path)
        laps.lap("decode")
        tensor = model.preprocess([image])
        laps.lap("preprocess")
        raw = model.infer(tensor)[0]
        laps.lap("inference")
        result = model.postprocess(raw, image.shape[:2])
        laps.lap("postprocess")
        write_image(layout.overlay_path(item), result.draw(image))
        write_json(layout.record_path(item), image_record(item, image.shape[:2], detections(result)))
        laps.lap("write")
    return {s: v[1:] for s, v in seconds.items()}


def _pipelined(model, items, out: Path, overlays: bool, engine_s: float) -> dict:
    runner = Runner(model, RunOptions(out_dir=out, overlays=overlays, batch_size=1, workers=WORKERS),
                    Tally(NullReporter()))
    start = time.perf_counter()
    summary = runner.run(items)
    seconds = time.perf_counter() - start
    rate = summary.images / seconds
    return {"workers": WORKERS, "images": summary.images, "seconds": round(seconds, 4), "images_per_s": round(rate, 4),
            "keeps_up": round(rate * engine_s, 3), "errors": summary.errors[:5]}


def folder_run(model_path, folder, threads: int | None, score_threshold: float) -> dict:
    items, errors = discover([folder])
    items = [item for item in items if item.kind == "image"]
    if not items:
        raise ValueError(f"{folder}: no images found" + (f" ({errors[0]})" if errors else ""))
    model = Yolact(model_path, "cpu", score_threshold=score_threshold, intra_op_threads=threads)
    with tempfile.TemporaryDirectory() as tmp:
        per_stage = _sequential(model, items, Path(tmp) / "sequential")
        engine_s = float(np.median(per_stage["inference"]))
        model = Yolact(model_path, "cpu", score_threshold=score_threshold, intra_op_threads=threads,
                       spinning=False)  # as yolact-run opens it
        pipelined = {key: _pipelined(model, items, Path(tmp) / key, overlays, engine_s)
                     for key, overlays in (("pipelined", True), ("pipelined_no_overlays", False))}
    return {"folder": str(folder), "images": len(items), "score_threshold": score_threshold,
            "providers": model.providers[0], "engine_ms": round(1000 * engine_s, 2),
            "sequential": {"total": summarize([sum(run) for run in zip(*per_stage.values())]),
                           **stage_summary(per_stage)}, **pipelined}



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="an exported .onnx")
    parser.add_argument("folder", help="a folder of images")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--score-threshold", type=float, default=0.3)
    parser.add_argument("--out", help="JSON file (default: stdout)")
    args = parser.parse_args()
    doc = folder_run(args.model, args.folder, args.threads, args.score_threshold)
    write_record({"machine": describe(args.threads), **doc}, args.out)


if __name__ == "__main__":
    main()
