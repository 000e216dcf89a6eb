"""`yolact-bench`: thin click command over run_bench."""
from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import click
from yolact_runtime.pipeline.discover import images_under

from . import nms as nms_bench
from .run import ALL_PATHS

# Defaults live in the source checkout, found from this file, never from the working directory.
# An installed copy (site-packages) has none of them and asks for --weights/--images/--out-dir.
CHECKOUT = Path(__file__).resolve().parents[2]
SHIPPED = CHECKOUT / "models" / "yolact_shapes.pth"
RESULTS = CHECKOUT / "benchmarks" / "results"


def _default_images(config_name: str) -> list[Path]:
    """The shipped examples for the shapes model; the test photos for COCO models."""
    examples = CHECKOUT / "examples" / "shapes" / "images"
    photos = CHECKOUT / "tests" / "data" / "photos"
    order = [examples, photos] if config_name == "yolact_shapes" else [photos, examples]
    for folder in order:
        found = images_under((str(folder),)) if folder.is_dir() else []
        if found:
            return found
    return []


def _choices(values: tuple[str, ...], allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    picked: list[str] = []
    for value in values:
        for item in filter(None, (v.strip() for v in value.split(","))):
            if item not in allowed:
                raise click.BadParameter(f"unknown {what} {item!r}; choose from {', '.join(allowed)}")
            picked.append(item)
    return tuple(picked)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help=f"Checkpoint (.pth), official or ours (default: {SHIPPED} when present).")
@click.option("--random", "random_config", default=None, metavar="CONFIG",
              help="Lively random weights of this config instead of a checkpoint (e.g. yolact_base).")
@click.option("--config", default=None, help="Config name for --weights (default: inferred).")
@click.option("--input-size", type=int, default=None, help="Input size S (default: from the config / file name).")
@click.option("--images", "image_paths", multiple=True, type=click.Path(exists=True),
              help="Images or folders to run on (default: the checkout's examples/shapes/images or tests/data/photos).")
@click.option("--folder", type=click.Path(exists=True, file_okay=False), default=None,
              help="Also time a folder run (decode, preprocess, inference, postprocess, write) on it.")
@click.option("--calibration-images", type=click.Path(exists=True, file_okay=False), default=None,
              help="INT8 calibration images (default: the benchmark images).")
@click.option("--paths", "path_names", multiple=True, metavar="NAMES",
              help=f"Comma-separated subset of: {', '.join(ALL_PATHS)} (default: all).")
@click.option("--runs", type=click.IntRange(min=1), default=20, show_default=True, help="Timed runs per path.")
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True, help="Untimed runs first.")
@click.option("--path-budget", type=click.FloatRange(min=0), default=600, show_default=True,
              help="Seconds per path: a slower path is timed alone, with fewer runs (at least 1); 0 = no limit.")
@click.option("--sequential", is_flag=True,
              help="Time the paths one after another instead of interleaved (round-robin).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Intra-op threads for torch and onnxruntime (default: one per core).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--score-threshold", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="Postprocess score threshold (yolact-run's default).")
@click.option("--nms", "nms_names", multiple=True, metavar="METHODS",
              help=f"NMS comparison methods, comma-separated: {', '.join(nms_bench.METHODS)}, or none "
                   "(default: all; e.g. --nms onnx-nms times the NonMaxSuppression variant beside fast-onnx).")
@click.option("--nms-runs", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--nms-size", type=click.IntRange(min=32), default=550, show_default=True,
              help="Input size whose v1 priors the NMS comparison uses (550: 19,248 priors).")
@click.option("--nms-classes", type=click.IntRange(min=1), default=80, show_default=True)
@click.option("--no-conv-bench", is_flag=True, help="Skip the fp32 vs int8 single-conv micro-benchmark.")
@click.option("--name", default=None, help="Result name: benchmarks/results/<name>.json (default: from the model).")
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="Where <name>.json goes (default: the checkout's benchmarks/results).")
@click.option("--keep-models", type=click.Path(file_okay=False), default=None,
              help="Keep the exported fp32 / fp16 / int8 graphs in this folder.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --random weights.")
def main(weights, random_config, config, input_size, image_paths, folder, calibration_images, path_names, runs,
         warmup, path_budget, sequential, threads, batch, score_threshold, nms_names, nms_runs, nms_size, nms_classes,
         no_conv_bench, name, out_dir, keep_models, seed) -> None:
    """Latency of PyTorch eager, ONNX Runtime (fp32 / fp16 / int8), CUDA and TensorRT side by side.

    \b
    Examples:
      yolact-bench                                   # the shipped model, models/yolact_shapes.pth
      yolact-bench --random yolact_base --runs 10    # lively random weights at 550
      yolact-bench --weights yolact_base_54_800000.pth --folder photos/ --nms fast-onnx,onnx-nms
    """
    import torch

    from .report import render
    from .run import BenchOptions, run_bench, write_json

    start = time.perf_counter()

    def log(message: str) -> None:
        click.echo(f"[{time.perf_counter() - start:7.1f}s] {message}", err=True)

    if weights and random_config:
        raise click.UsageError("give --weights or --random, not both")
    if out_dir is None and not RESULTS.parent.is_dir():
        raise click.UsageError("not run from a source checkout: give --out-dir")
    paths = _choices(path_names, ALL_PATHS, "path") if path_names else ALL_PATHS
    if nms_names and [n for v in nms_names for n in v.split(",")] == ["none"]:
        methods: tuple[str, ...] = ()
    else:
        methods = _choices(nms_names, nms_bench.METHODS, "NMS method") if nms_names else nms_bench.METHODS
        if nms_names and "fast-onnx" not in methods:
            methods = ("fast-onnx", *methods)  # the baseline of the ratios
    threads = threads or os.cpu_count()
    torch.set_num_threads(threads)

    try:
        if random_config:
            from .. import build_model, get_config
            from ..model.random_weights import make_lively
            from ..detection.preprocess import preprocess
            from yolact_runtime.core.io import read_image

            cfg = get_config(random_config)
            cfg = cfg.at_size(input_size) if input_size else cfg
            images = images_under(image_paths) if image_paths else _default_images(cfg.name)
            if not images:
                raise click.UsageError("no images found in this checkout: give --images")
            log(f"lively random weights for {cfg.name} at {cfg.max_size} (seed {seed})")
            model = make_lively(build_model(cfg), preprocess([read_image(p) for p in images[:8]], cfg), seed=seed)
            source = f"random:{cfg.name}"
        else:
            from ..model.checkpoint import load_checkpoint

            weights = weights or (str(SHIPPED) if SHIPPED.is_file() else None)
            if weights is None:
                raise click.UsageError(f"no --weights and no {SHIPPED}: give --weights or --random CONFIG")
            model, cfg = load_checkpoint(weights, config=config, input_size=input_size)
            images = images_under(image_paths) if image_paths else _default_images(cfg.name)
            if not images:
                raise click.UsageError("no images found in this checkout: give --images")
            source = str(weights)
            log(f"loaded {weights}: {cfg.name} at {cfg.max_size}")
        model.eval()
        explicit_bf16 = bool(path_names) and "pytorch-bf16" in paths
        options = BenchOptions(runs=runs, warmup=warmup, force_bf16=explicit_bf16, interleave=not sequential,
                               budget_s=path_budget or None, threads=threads, batch=batch, paths=paths,
                               score_threshold=score_threshold, nms_methods=methods, nms_runs=nms_runs,
                               nms_size=nms_size, nms_classes=nms_classes, conv_bench=not no_conv_bench,
                               folder=Path(folder) if folder else None,
                               calibration=Path(calibration_images) if calibration_images else None,
                               models_dir=Path(keep_models) if keep_models else None, log=log)
        doc = run_bench(model, source, images, options)
    except click.UsageError:
        raise
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    if not random_config:
        doc["model"]["sha256"] = hashlib.sha256(Path(weights).read_bytes()).hexdigest()
    result_name = name or (f"{cfg.name}-{cfg.max_size}" + ("-random" if random_config else ""))
    path = write_json(doc, Path(out_dir) if out_dir else RESULTS, result_name)
    click.echo(render([doc]))
    click.echo(f"wrote {path}")
