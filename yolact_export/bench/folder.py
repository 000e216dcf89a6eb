"""A folder run as yolact-run does it: decode, preprocess, inference, postprocess, write.

Sequential per-image stage times (one image at a time, nothing overlapped), then the same folder
through yolact_runtime's pipelined Runner (decode/preprocess and render/write in worker threads
around the inference), with and without overlays, whose images/s is what `yolact-run` achieves.
keeps_up is that rate over 1 / (median engine time): 1.0 means the pipeline hides all the rest.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from .stats import StageClock, summarize

STAGES = ("decode", "preprocess", "inference", "postprocess", "write")


def folder_run(model_path, folder, threads: int | None, score_threshold: float, passes: int = 1,
               workers: int = 2, work_dir=None, providers: str = "cpu", precision: str = "default") -> dict:
    from yolact_runtime import Yolact
    from yolact_runtime.pipeline.discover import discover
    from yolact_runtime.core.io import read_image, write_image, write_json
    from yolact_runtime.pipeline.layout import OutputLayout
    from yolact_runtime.pipeline.records import image_record
    from yolact_runtime.pipeline.job import NullReporter, RunOptions, Tally
    from yolact_runtime.pipeline.runner import Runner

    items, errors = discover([folder])
    items = [item for item in items if item.kind == "image"]
    if not items:
        raise ValueError(f"{folder}: no images found" + (f" ({errors[0]})" if errors else ""))
    model = Yolact(model_path, providers, score_threshold=score_threshold, intra_op_threads=threads,
                   precision=precision)
    per_stage: dict[str, list[float]] = {s: [] for s in STAGES}
    totals: list[float] = []
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        layout = OutputLayout(Path(tmp) / "sequential", overlays=True, masks=False)

        def one(item) -> StageClock:
            clock = StageClock()
            with clock.stage("decode"):
                image = read_image(item.path)
            with clock.stage("preprocess"):
                tensor = model.preprocess([image])
            with clock.stage("inference"):
                raw = model.infer(tensor)[0]
            with clock.stage("postprocess"):
                result = model.postprocess(raw, image.shape[:2])
            with clock.stage("write"):
                write_image(layout.overlay_path(item), result.draw(image))
                write_json(layout.record_path(item), image_record(item, result))
            return clock

        one(items[0])  # warm-up
        for _ in range(passes):
            for item in items:
                clock = one(item)
                totals.append(sum(clock.seconds.values()))
                for stage in STAGES:
                    per_stage[stage].append(clock.seconds[stage])

        model = Yolact(model_path, providers, score_threshold=score_threshold, intra_op_threads=threads,
                       spinning=False, precision=precision)  # as yolact-run opens it
        pipelined = {}
        for overlays in (True, False):
            tally = Tally(NullReporter())
            out = Path(tmp) / f"pipelined-{overlays}"
            runner = Runner(model, RunOptions(out_dir=out, overlays=overlays, batch_size=1, workers=workers), tally)
            start = time.perf_counter()
            summary = runner.run(items * passes if passes > 1 else items)
            seconds = time.perf_counter() - start
            pipelined["pipelined" if overlays else "pipelined_no_overlays"] = {
                "workers": workers, "images": summary.images, "seconds": round(seconds, 4),
                "images_per_s": round(summary.images / seconds, 4) if seconds > 0 else None,
                "errors": summary.errors[:5]}
    medians = {s: float(np.median(v)) for s, v in per_stage.items()}
    whole = sum(medians.values()) or 1.0
    engine_s = medians["inference"]
    for run in pipelined.values():
        run["keeps_up"] = round(run["images_per_s"] * engine_s, 3) if run["images_per_s"] else None
    return {
        "folder": str(folder), "images": len(items), "passes": passes, "score_threshold": score_threshold,
        "providers": model.providers[0], "engine_ms": round(1000 * engine_s, 2),
        "sequential": {"total": summarize(totals).to_dict(),
                       "stages": {s: summarize(v).to_dict() for s, v in per_stage.items()},
                       "stage_share": {s: round(m / whole, 4) for s, m in medians.items()}},
        **pipelined,
    }
