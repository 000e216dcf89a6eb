"""Command lines: `yolact-synth` (synthetic shapes data set), `yolact-train` (training) and `yolact-eval` (COCO AP)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from yolact_runtime import EngineOptions

from ..model.config import PRESETS, YolactConfig


def resolve_config(value: str | None) -> YolactConfig | None:
    """A preset name, or a JSON file holding a config dict (YolactConfig.to_dict form)."""
    if value is None:
        return None
    if value in PRESETS:
        return PRESETS[value]
    path = Path(value)
    if not path.is_file():
        raise click.UsageError(f"--config {value!r}: neither a preset ({', '.join(PRESETS)}) nor a JSON file")
    try:
        return YolactConfig.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError) as exc:
        raise click.UsageError(f"--config {path}: not a valid config JSON ({exc})") from None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--images", "num_images", required=True, type=click.IntRange(min=1), help="Number of images.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Random seed: the same seed and options give the same files, byte for byte.")
@click.option("--size", default=320, show_default=True, type=click.IntRange(min=64), help="Image side (pixels).")
@click.option("--empty-fraction", default=0.05, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of images without any object.")
@click.option("--max-objects", default=6, show_default=True, type=click.IntRange(min=1),
              help="At most this many shapes drawn per image (fewer stay visible where they overlap).")
@click.option("--format", "image_format", default="png", show_default=True, type=click.Choice(["png", "jpg"]),
              help="Image file format (png: lossless).")
def synth_main(out_dir: str, num_images: int, seed: int, size: int, empty_fraction: float,
               max_objects: int, image_format: str) -> None:
    """Generate a synthetic shapes instance-segmentation data set in COCO format."""
    from ..data.synthetic import SynthOptions, generate

    from yolact_runtime.tools import unwritable

    opts = SynthOptions(size=size, max_objects=max_objects, empty_fraction=empty_fraction,
                        image_format=image_format)
    if problem := unwritable(Path(out_dir) / "annotations.json"):
        _fail(problem)
    try:
        path = generate(out_dir, num_images, seed, opts)
    except OSError as exc:
        _fail(f"{exc.filename or out_dir}: {exc.strerror or exc}")
    click.echo(f"wrote {num_images} images and {path}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--annotations", required=True, type=click.Path(), help="COCO instances JSON.")
@click.option("--images", "images_dir", required=True, type=click.Path(), help="Directory of the images.")
@click.option("--config", "config_name", default=None, help="Preset name or config JSON (default: from --resume).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Checkpoint to write (.pth).")
@click.option("--iterations", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Training steps in all (with --resume: the total, counting the steps already done).")
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(min=1), help="Images per step.")
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Base learning rate (reached after --warmup; lowered at fixed fractions of --iterations).")
@click.option("--warmup", default=200, show_default=True, type=click.IntRange(min=1), help="Warm-up iterations.")
@click.option("--resume", default=None, type=click.Path(dir_okay=False),
              help="Checkpoint to continue from (a .resume.pth also restores optimizer and iteration).")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (weights, data order, augmentation).")
@click.option("--save-every", default=250, show_default=True, type=click.IntRange(min=1),
              help="Write --out and its .resume.pth every this many steps (and at the end).")
@click.option("--clip-grad", default=10.0, show_default=True, type=click.FloatRange(min=0),
              help="Max gradient norm (0 disables clipping).")
@click.option("--threads", default=None, type=click.IntRange(min=1), help="torch CPU threads.")
@click.option("--no-progress", is_flag=True, help="No progress bar (log lines only).")
def train_main(annotations: str, images_dir: str, config_name: str | None, out: str, iterations: int,
               batch_size: int, lr: float, warmup: int, resume: str | None, seed: int, save_every: int,
               clip_grad: float, threads: int | None, no_progress: bool) -> None:
    """Train YOLACT on a COCO-format instance-segmentation data set."""
    import torch

    from ..model.checkpoint import CheckpointError, resume_path
    from ..data.coco import DatasetError, DatasetImageError
    from .loop import TrainOptions, train

    if threads:
        torch.set_num_threads(threads)
    config = resolve_config(config_name)
    if config is None and resume is None:
        raise click.UsageError("--config is required unless --resume is given")
    opts = TrainOptions(annotations=Path(annotations), images=Path(images_dir), config=config, out=Path(out),
                        iterations=iterations, batch_size=batch_size, lr=lr, resume=Path(resume) if resume else None,
                        seed=seed, warmup=warmup, save_every=save_every, clip_grad=clip_grad,
                        progress=not no_progress)
    from yolact_runtime.tools import unwritable

    if problem := unwritable(out):
        _fail(problem)
    start = time.time()
    try:
        losses = train(opts)
    except DatasetImageError as exc:  # an input that failed (README, "Exit status"); nothing is trained
        _fail(str(exc), 1)
    except (DatasetError, CheckpointError) as exc:  # the annotations or --resume: missing or invalid
        _fail(str(exc))
    summary = " ".join(f"{k} {v:.3f}" for k, v in losses.items())
    click.echo(f"done in {time.time() - start:.0f} s; last-50 mean losses: {summary}")
    click.echo(f"model: {out}  resume state: {resume_path(Path(out))}")


def _fail(message: str, status: int = 2) -> None:
    """One line, then the exit status (README, "Exit status": 2 for a bad model, checkpoint or output)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(status)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--annotations", required=True, type=click.Path(dir_okay=False), help="COCO instances JSON.")
@click.option("--images", required=True, type=click.Path(file_okay=False), help="Folder of the images.")
@click.option("--limit", type=int, default=None, help="Evaluate the first N images only.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write the APs here.")
@click.option("--providers", type=click.Choice(EngineOptions.PROVIDERS), default="cpu", show_default=True,
              help="Execution provider for an .onnx MODEL (as yolact-run's).")
@click.option("--precision", type=click.Choice(EngineOptions.PRECISIONS), default="default", show_default=True,
              help="OpenVINO's precision: default (bf16 on AMX / AVX512-BF16 CPUs) or f32.")
def eval_main(model, annotations, images, limit, json_path, providers, precision) -> None:
    """Box and mask AP of MODEL on a COCO-format data set (pycocotools).

    \b
    MODEL is a checkpoint (.pth: the PyTorch reference path) or an exported .onnx (the runtime path).
    Class indices map to the data set's category ids through the model's own table (for the
    official checkpoints, the original's COCO label map), so COCO val2017 works as it is.
    Examples:
      yolact-eval models/yolact_shapes.pth --annotations val/annotations.json --images val/images
      yolact-eval yolact_base.onnx --annotations instances_val2017.json --images val2017/ --json ap.json
    """
    from tqdm import tqdm

    from ..model.checkpoint import CheckpointError
    from .evaluate import evaluate

    from yolact_runtime import YolactRuntimeError
    from yolact_runtime.tools import unwritable, write_bytes

    for path in (model, annotations):
        if not Path(path).is_file():
            _fail(f"{path}: no such file")
    if json_path and (problem := unwritable(json_path)):
        _fail(problem)
    unreadable: list[str] = []
    try:
        ap = evaluate(model, annotations, images, limit, progress=lambda ids: tqdm(ids, unit="img", leave=False),
                      providers=providers, precision=precision, unreadable=unreadable)
    except (CheckpointError, YolactRuntimeError, ValueError) as exc:  # these name their file
        _fail(str(exc))
    except (KeyError, OSError) as exc:
        _fail(f"{annotations}: not a COCO instances file ({exc})")
    except Exception as exc:  # anything else from the runtime or pycocotools: still one line
        _fail(f"{model}: {exc}")
    for line in unreadable:
        click.echo(f"error: {line} (left out of the AP)", err=True)
    if json_path:
        write_bytes(json_path, json.dumps(ap, indent=2).encode())
    click.echo(f"{'':6}{'AP':>7}{'AP50':>7}{'AP75':>7}")
    for kind in ("box", "mask"):
        click.echo(f"{kind:6}" + "".join(f"{ap[kind][k]:7.2f}" for k in ("AP", "AP50", "AP75")))
    if unreadable:
        sys.exit(1)
