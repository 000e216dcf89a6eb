"""A loop over frames as an application runs it: Yolact.predict_batch on one image after another,
back to back, no pause between calls. Each stage is timed, with the mask matmul on one BLAS thread
(the runtime, core/blas.py) and on all of numpy's BLAS threads (before), in alternating blocks in
one process, so that one variant's idle BLAS threads never spin into the other's next inference.

    python benchmarks/frame_loop.py --random yolact_resnet50 --providers openvino,cpu --out loop.json
"""
from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import click
import numpy as np
from yolact_runtime import Yolact
from yolact_runtime.core.masks import soft
from yolact_runtime.tools import read_image

from record import write_record  # benchmarks/record.py (the script's own folder is on sys.path)
from yolact_export import build_model, get_config
from yolact_export.bench.machine import describe
from yolact_export.bench.measure import StageRecorder, summarize
from yolact_export.detection.preprocess import preprocess
from yolact_export.exporter.export import export_onnx
from yolact_export.model.random_weights import make_lively

VARIANTS = {"one BLAS thread": soft.matmul_one_thread, "all BLAS threads (before)": np.matmul}


def _measure(model: Yolact, image: np.ndarray, blocks: int, block: int) -> dict:
    recorders = {name: StageRecorder(model, [image]) for name in VARIANTS}
    try:
        for index in range(blocks * len(VARIANTS)):
            name = list(VARIANTS)[index % len(VARIANTS)]
            soft.matmul_one_thread = VARIANTS[name]
            StageRecorder(model, [image])()  # not kept: the first frame inherits the other variant's threads
            for _ in range(block):
                recorders[name]()
    finally:
        soft.matmul_one_thread = VARIANTS["one BLAS thread"]
    return {name: {**{stage: summarize(values) for stage, values in r.stages.items()},
                   "end to end": summarize([sum(run) for run in zip(*r.stages.values())])}
            for name, r in recorders.items()}


@click.command()
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False), help="An exported graph, or:")
@click.option("--random", "random_config", metavar="CONFIG", help="Export this config with lively random weights.")
@click.option("--image", "image_path", default="tests/data/photos/yolact_example_0.png", show_default=True,
              type=click.Path(exists=True, dir_okay=False))
@click.option("--providers", default="openvino,cpu", show_default=True, help="Comma-separated, each measured.")
@click.option("--threads", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--blocks", type=click.IntRange(min=1), default=4, show_default=True, help="Blocks per variant.")
@click.option("--block", type=click.IntRange(min=1), default=6, show_default=True, help="Timed frames per block.")
@click.option("--out", help="JSON file to write (default: stdout).")
def main(model_path: str | None, random_config: str | None, image_path: str, providers: str, threads: int,
         blocks: int, block: int, out: str | None) -> None:
    if bool(model_path) == bool(random_config):
        raise click.UsageError("give --model or --random")
    image = read_image(image_path)
    doc = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "command": " ".join(["python benchmarks/frame_loop.py", *sys.argv[1:]]), "machine": describe(threads),
           "model": model_path or f"random:{random_config}", "image": image_path,
           "image_size": list(image.shape[:2]), "paths": {}}
    with tempfile.TemporaryDirectory() as folder:
        _run(model_path or _export_random(random_config, image, Path(folder)), image, providers, threads, blocks,
             block, doc)
    doc["machine"]["load_average_end"] = describe(threads)["load_average"]
    write_record(doc, out)


def _export_random(config: str, image: np.ndarray, folder: Path) -> str:
    model = build_model(get_config(config))
    model = make_lively(model, preprocess([image], model.config), seed=0).eval()
    return str(export_onnx(model, folder / f"{config}.onnx"))


def _run(model_path: str, image: np.ndarray, providers: str, threads: int, blocks: int, block: int,
         doc: dict) -> None:
    for choice in providers.split(","):
        model = Yolact(model_path, providers=choice, intra_op_threads=threads, top_k=100)
        model.predict_batch([image])  # compile, warm the caches
        doc["paths"][f"{choice} ({model.precision})"] = _measure(model, image, blocks, block)


if __name__ == "__main__":
    main()
