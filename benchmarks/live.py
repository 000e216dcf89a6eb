"""A live run as yolact-run does it: the project's shapes served as an MJPEG stream on 127.0.0.1 at a
fixed rate, read by the local engine (newest frame only), with overlays and JSON lines written.
Prints the machine and what kept up: frames served, processed, dropped, processed per second.

    python benchmarks/live.py --model yolact_shapes.onnx [--fps 30] [--seconds 20]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np
from yolact_runtime import Yolact
from yolact_runtime.pipeline.discover import discover
from yolact_runtime.pipeline.job import NullReporter, RunOptions, Tally
from yolact_runtime.pipeline.runner import Runner

from yolact_export.bench.machine import describe
from yolact_export.data.synthetic import SynthOptions, render_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' MJPEG server
from mjpeg import mjpeg_server  # noqa: E402


def _frames(size: int, count: int = 30) -> list[np.ndarray]:
    return [render_image(np.random.default_rng(index), SynthOptions(size=size), empty=False)[0]
            for index in range(count)]


@click.command()
@click.option("--model", "model_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fps", type=click.FloatRange(min=1), default=30.0, show_default=True, help="The source's rate.")
@click.option("--seconds", type=click.FloatRange(min=1), default=20.0, show_default=True)
@click.option("--size", type=click.IntRange(min=64), default=480, show_default=True, help="Frame width and height.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="ONNX Runtime intra-op threads.")
def main(model_path: Path, fps: float, seconds: float, size: int, threads: int | None) -> None:
    model = Yolact(model_path, "cpu", score_threshold=0.3, intra_op_threads=threads, spinning=False)
    served = int(fps * seconds)
    with tempfile.TemporaryDirectory() as out, mjpeg_server(_frames(size), fps, served) as url:
        items, _ = discover([url])
        options = RunOptions(out_dir=Path(out), jsonl_path=Path(out) / "live.jsonl")
        tally = Tally(NullReporter())
        start = time.perf_counter()
        summary = Runner(model, options, tally).run(items)
        wall = time.perf_counter() - start
    result = {"machine": describe(threads), "source_fps": fps, "frame_size": size, "served": served,
              "processed": summary.frames, "dropped": summary.dropped, "failed": summary.failed,
              "seconds": round(wall, 2), "processed_per_second": round(summary.frames / wall, 2),
              "kept_share": round(summary.frames / served, 3)}
    click.echo(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
