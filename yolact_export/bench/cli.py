"""`yolact-bench`: load the model and images, run the bench, write the JSON, print the report."""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import click
import torch
from yolact_runtime.core.errors import InputError
from yolact_runtime.core.io import read_image, unwritable, write_bytes
from yolact_runtime.pipeline.discover import images_under

from .. import build_model, get_config
from ..detection.preprocess import preprocess
from ..model.checkpoint import load_checkpoint
from ..model.random_weights import make_lively
from .paths import ALL_PATHS
from .report import render
from .run import BenchOptions, run_bench

# Defaults live in the source checkout, found from this file, never from the working directory.
# An installed copy (site-packages) has none of them and asks for --weights/--images/--out-dir.
CHECKOUT = Path(__file__).resolve().parents[2]
SHIPPED, RESULTS = CHECKOUT / "models" / "yolact_shapes.pth", CHECKOUT / "benchmarks" / "results"
SKIPPED: list[Path] = []  # the unreadable --images of this run (exit 1)


def _images(given: tuple[str, ...], config_name: str) -> list[Path]:
    """The given ones, else the shipped examples for the shapes model, the test photos for COCO models;
    an unreadable one is named with its cause on one line and skipped."""
    folder = CHECKOUT / ("examples/shapes/images" if config_name == "yolact_shapes" else "tests/data/photos")
    readable = []
    for path in images_under(given or ([folder] if folder.is_dir() else [])):
        try:
            read_image(path)
        except InputError as error:
            click.echo(f"error: {error} (skipped)", err=True)
            SKIPPED.append(path)
            continue
        readable.append(path)
    if not readable:
        raise click.UsageError("no readable images" + ("" if given else f" in {folder}: give --images"))
    return readable


def _load(weights: str | None, random_config: str | None, config: str | None, input_size: int | None,
          image_paths: tuple[str, ...]) -> tuple[torch.nn.Module, str, list[Path]]:
    """(model, source, images) from --weights or --random (lively random weights, seed 0)."""
    if random_config:
        cfg = get_config(random_config)
        model, source = build_model(cfg.at_size(input_size) if input_size else cfg), f"random:{random_config}"
    else:
        source = weights or (str(SHIPPED) if SHIPPED.is_file() else None)
        if source is None:
            raise click.UsageError(f"no --weights and no {SHIPPED}: give --weights or --random CONFIG")
        model = load_checkpoint(source, config=config, input_size=input_size)[0]
    images = _images(image_paths, model.config.name)
    if random_config:
        model = make_lively(model, preprocess([read_image(p) for p in images[:8]], model.config), seed=0)
    return model.eval(), source, images


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--weights", type=click.Path(dir_okay=False), help=f"Checkpoint (.pth) (default: {SHIPPED}).")
@click.option("--random", "random_config", metavar="CONFIG", help="Lively random weights of this config instead.")
@click.option("--config", help="Config name for --weights (default: inferred).")
@click.option("--input-size", type=int, help="Input size S (default: the config's).")
@click.option("--images", "image_paths", multiple=True, type=click.Path(exists=True), help="Images or folders "
              "(default: the checkout's examples/shapes/images or tests/data/photos).")
@click.option("--folder", type=click.Path(exists=True, file_okay=False), help="Also time a yolact-run folder run.")
@click.option("--calibration-images", type=click.Path(exists=True, file_okay=False), help="INT8 calibration images.")
@click.option("--paths", "path_names", metavar="NAMES", help=f"Comma-separated subset of: {', '.join(ALL_PATHS)}.")
@click.option("--runs", type=click.IntRange(min=1), default=20, show_default=True, help="Timed runs per path.")
@click.option("--threads", type=click.IntRange(min=1), help="Intra-op threads (default: one per core).")
@click.option("--nms/--no-nms", default=True, show_default=True, help="The NMS comparison at 19,248 priors x 80.")
@click.option("--out-dir", type=click.Path(file_okay=False), help="Where <config>-<size>.json goes.")
def main(weights, random_config, config, input_size, image_paths, folder, calibration_images, path_names, runs,
         threads, nms, out_dir) -> None:
    """Latency of PyTorch eager, ONNX Runtime (fp32 / fp16 / int8), OpenVINO, CUDA and TensorRT side by side.

    Example: yolact-bench --random yolact_base --folder tests/data/photos --runs 10
    """
    start = time.perf_counter()
    SKIPPED.clear()
    paths = tuple(filter(None, (p.strip() for p in (path_names or "").split(",")))) or ALL_PATHS
    if unknown := [p for p in paths if p not in ALL_PATHS]:
        raise click.BadParameter(f"unknown path {unknown[0]!r}; choose from {', '.join(ALL_PATHS)}", param_hint="paths")
    if weights and random_config:
        raise click.UsageError("give --weights or --random, not both")
    if out_dir is None and not RESULTS.parent.is_dir():
        raise click.UsageError("not run from a source checkout: give --out-dir")
    if out_dir and not Path(out_dir).is_dir() and (problem := unwritable(out_dir)):
        click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    torch.set_num_threads(threads := threads or os.cpu_count())
    try:
        model, source, images = _load(weights, random_config, config, input_size, image_paths)
        doc = run_bench(model, source, images, BenchOptions(
            runs=runs, threads=threads, paths=paths, force_bf16=bool(path_names), nms=nms,
            folder=folder and Path(folder), calibration=calibration_images and Path(calibration_images),
            log=lambda message: click.echo(f"[{time.perf_counter() - start:7.1f}s] {message}", err=True)))
    except (ValueError, FileNotFoundError, RuntimeError) as error:  # a bad checkpoint or model: README, "Exit status"
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    if not random_config:
        doc["model"]["sha256"] = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    name = f"{model.config.name}-{model.config.max_size}" + ("-random" if random_config else "")
    write_bytes(path := Path(out_dir or RESULTS) / f"{name}.json", (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
    click.echo(render([doc]))
    click.echo(f"wrote {path}")
    if SKIPPED:
        sys.exit(1)  # some input failed
