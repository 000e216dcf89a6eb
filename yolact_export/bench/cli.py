"""`yolact-bench`: load the model and images, run the bench, write the JSON, print the report."""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import click
import torch
from yolact_runtime import InputError
from yolact_runtime.tools import read_image, write_bytes
from yolact_runtime.tools import images_under

from .. import build_model, get_config
from ..detection.preprocess import preprocess
from ..model.checkpoint import load_checkpoint
from ..model.random_weights import make_lively
from .paths import ALL_PATHS
from .report import render
from .run import BenchOptions, run_bench

def _images(given: tuple[str, ...]) -> tuple[list[Path], int]:
    """The readable ones and how many were not; an unreadable one is named with its cause on one line."""
    readable, skipped = [], 0
    for path in images_under(given):
        try:
            read_image(path)
        except InputError as error:
            click.echo(f"error: {error} (skipped)", err=True)
            skipped += 1
            continue
        readable.append(path)
    if not readable:
        raise click.UsageError("no readable images in --images")
    return readable, skipped


def _load(weights: str | None, random_config: str | None, config: str | None, input_size: int | None,
          images: list[Path]) -> tuple[torch.nn.Module, str]:
    """(model, source) from --weights or --random (lively random weights, seed 0)."""
    if not random_config:
        return load_checkpoint(weights, config=config, input_size=input_size)[0].eval(), weights
    cfg = get_config(random_config)
    model = build_model(cfg.at_size(input_size) if input_size else cfg)
    model = make_lively(model, preprocess([read_image(p) for p in images[:8]], model.config), seed=0)
    return model.eval(), f"random:{random_config}"


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--weights", type=click.Path(dir_okay=False), help="Checkpoint (.pth) to measure (or --random).")
@click.option("--random", "random_config", metavar="CONFIG", help="Lively random weights of this config instead.")
@click.option("--config", help="Config name for --weights (default: inferred).")
@click.option("--input-size", type=int, help="Input size S (default: the config's).")
@click.option("--images", "image_paths", multiple=True, required=True, type=click.Path(exists=True),
              help="Images or folders to measure on (repeatable).")
@click.option("--calibration-images", type=click.Path(exists=True, file_okay=False),
              help="INT8 calibration images (default: the --images).")
@click.option("--paths", "path_names", metavar="NAMES", help=f"Comma-separated subset of: {', '.join(ALL_PATHS)}.")
@click.option("--runs", type=click.IntRange(min=1), default=20, show_default=True, help="Timed runs per path.")
@click.option("--threads", type=click.IntRange(min=1), help="Intra-op threads (default: one per core).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for <config>-<size>.json (default: a new temporary folder, printed).")
def main(weights, random_config, config, input_size, image_paths, calibration_images, path_names, runs, threads,
         out_dir) -> None:
    """Latency of PyTorch eager, ONNX Runtime (fp32 / fp16 / int8), OpenVINO, CUDA and TensorRT side by
    side, each path through yolact_runtime's preprocess and postprocess; the agreement between them, the
    postprocess under load (before / after) and the machine (CPU model, ISA flags) in one JSON.

    \b
    Exit status: 0 measured; 1 an image could not be read (the others are measured); 2 usage, a missing or invalid checkpoint, or an unwritable --out.
    Examples:
      yolact-bench --weights models/yolact_shapes.pth --images examples/shapes/images --out results/
      yolact-bench --random yolact_resnet50 --images photos/ --runs 10 --paths pytorch-fp32,onnx-fp32
    """
    start = time.perf_counter()
    paths = tuple(filter(None, (p.strip() for p in (path_names or "").split(",")))) or ALL_PATHS
    if unknown := [p for p in paths if p not in ALL_PATHS]:
        raise click.BadParameter(f"unknown path {unknown[0]!r}; choose from {', '.join(ALL_PATHS)}", param_hint="paths")
    if bool(weights) == bool(random_config):
        raise click.UsageError("give --weights FILE or --random CONFIG (one of them)")
    torch.set_num_threads(threads := threads or os.cpu_count())
    try:
        folder = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="yolact-bench-"))
        folder.mkdir(parents=True, exist_ok=True)  # before the run: an unwritable --out stops it at once
        if not os.access(folder, os.W_OK):
            raise PermissionError(13, "not writable", str(folder))
        images, skipped = _images(image_paths)
        model, source = _load(weights, random_config, config, input_size, images)
        doc = run_bench(model, source, images, BenchOptions(
            runs=runs, threads=threads, paths=paths, force_bf16=bool(path_names),
            calibration=calibration_images and Path(calibration_images),
            log=lambda message: click.echo(f"[{time.perf_counter() - start:7.1f}s] {message}", err=True)))
        if not random_config:
            doc["model"]["sha256"] = hashlib.sha256(Path(source).read_bytes()).hexdigest()
        name = f"{model.config.name}-{model.config.max_size}" + ("-random" if random_config else "")
        write_bytes(path := folder / f"{name}.json", (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
    except (ValueError, OSError, RuntimeError) as error:  # CheckpointError is a ValueError
        message = f"{error.filename}: {error.strerror}" if isinstance(error, OSError) and error.filename else error
        click.echo(f"error: {message}", err=True)
        sys.exit(2)
    click.echo(render([doc]))
    click.echo(f"wrote {path}")
    if skipped:
        sys.exit(1)  # some input failed
