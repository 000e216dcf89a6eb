"""yolact-run: segment images, folders and videos with an exported model."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click
import cv2
from tqdm import tqdm

from ..core.errors import YolactRuntimeError
from ..core.model import Yolact
from ..core.plan import CHOICES_HELP, PRECISIONS, PROVIDER_CHOICES
from .discover import InputItem
from .job import Engine, RunOptions, RunSummary, run_job
from .layout import OutputLayout
from .overview import MAX_TILES, write_overview
from .runner import LocalEngine


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (test runners swap it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _Reporter:
    """Error lines and progress; errors go above the bar, on stderr."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: tqdm | None = None

    def start(self, total: int | None) -> None:
        if not self.quiet:
            self.bar = tqdm(total=total, unit="img", desc="yolact-run", file=sys.stderr, dynamic_ncols=True)

    def error(self, line: str) -> None:
        tqdm.write(f"error: {line}", file=sys.stderr)

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _summary(summary: RunSummary, out: Path, input_errors: int) -> str:
    done = f"{summary.images} image{'s' if summary.images != 1 else ''}"
    if summary.frames:
        done += f" and {summary.frames} video frame{'s' if summary.frames != 1 else ''}"
    rate = (summary.images + summary.frames) / summary.seconds if summary.seconds > 0 else 0.0
    parts = [f"{done} in {summary.seconds:.1f} s ({rate:.1f} images/s)"]
    if summary.skipped:
        parts.append(f"{summary.skipped} skipped (already done)")
    failed = summary.failed + input_errors
    if failed:
        parts.append(f"{failed} failed")
    return "yolact-run: " + ", ".join(parts) + f"; outputs in {out}"


def _listed(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _setup_logging(quiet: bool) -> None:
    logger = logging.getLogger("yolact_runtime")
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("yolact-run: %(message)s"))
        logger.addHandler(handler)
    cv_logging = getattr(getattr(cv2, "utils", None), "logging", None)  # absent in some OpenCV builds
    if cv_logging is not None:
        cv_logging.setLogLevel(cv_logging.LOG_LEVEL_ERROR)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own lines (we report failures ourselves)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, type=click.Path())  # str: keeps URIs (s3://...) intact for --engine ray
@click.option("--model", "-m", "model_path", required=True, type=click.Path(path_type=Path),
              help="ONNX model exported by yolact-export.")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Output folder: overlays/, masks/, detections/.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write COCO results (RLE masks, image ids, file names) for all inputs here.")
@click.option("--save-masks", is_flag=True, help="Write per-image PNG instance maps (0 = none, i+1 = detection i).")
@click.option("--no-overlays", is_flag=True, help="Do not write overlay images and videos.")
@click.option("--overview", "overview_path", type=click.Path(path_type=Path, dir_okay=False),
              help=f"Also write one picture here: the image overlays in a grid (the first {MAX_TILES}); "
                   "its path is printed first.")
@click.option("--score-threshold", type=click.FloatRange(0.0, 1.0), default=0.3, show_default=True,
              help="Keep detections whose box score is above this (all outputs; yolact-cpp-run has the same "
                   "default; 0 keeps every row the graph returns, for COCO evaluation).")
@click.option("--top-k", type=click.IntRange(min=1), default=None, help="Keep at most this many detections per image.")
@click.option("--providers", type=click.Choice(PROVIDER_CHOICES), default="auto", show_default=True,
              help=f"Engine and provider. {CHOICES_HELP} The one line it prints says which, and why.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="default", show_default=True,
              help="OpenVINO's precision: default (its choice: bf16 on AMX / AVX512-BF16 CPUs) or f32 (exact; auto "
                   "then takes ONNX Runtime).")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Engine threads (ONNX Runtime intra-op, OpenVINO INFERENCE_NUM_THREADS).")
@click.option("--resume", is_flag=True, help="Skip inputs whose outputs already exist.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary; errors only.")
@click.option("--files-from", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also take the inputs listed in this file, one per line (blank lines and # comments skipped).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this process; ray: a Ray cluster with Ray Data (pip install yolact-export[ray]).")
@click.option("--ray-address", default=None, metavar="ADDRESS",
              help="--engine ray: 'auto' or 'ray://host:port' joins a running cluster; default starts a local Ray.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="--engine ray: model actors (default: as many as the cluster's CPUs, or GPUs, allow).")
@click.option("--gpus-per-worker", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="--engine ray: GPUs Ray reserves per actor (0: CPU actors, --providers auto then means cpu).")
def main(inputs: tuple[str, ...], model_path: Path, out_dir: Path, json_path: Path | None, save_masks: bool,
         no_overlays: bool, overview_path: Path | None, score_threshold: float, top_k: int | None, providers: str,
         batch_size: int, precision: str, threads: int | None, resume: bool, quiet: bool, files_from: Path | None,
         engine: str, ray_address: str | None, workers: int | None, gpus_per_worker: float) -> None:
    """Segment INPUTS (images, folders searched recursively, videos) with a YOLACT ONNX model.

    With --engine ray, INPUTS may also be URIs that pyarrow reads (s3://, gs://, hdfs://, file://).
    """
    if files_from is not None:
        inputs = (*inputs, *_listed(files_from))
    if not inputs:
        raise click.UsageError("give at least one input (or --files-from)")
    if overview_path is not None and no_overlays:
        raise click.UsageError("--overview is made of the overlays: drop --no-overlays")
    _setup_logging(quiet)
    reporter = _Reporter(quiet)
    try:
        runs_on: Engine
        if engine == "ray":
            from ..cluster.ray_engine import ModelSettings, RayEngine, RaySettings

            runs_on = RayEngine(model_path, ModelSettings(providers, score_threshold, top_k, threads, precision),
                                RaySettings(address=ray_address, workers=workers, gpus_per_worker=gpus_per_worker))
        else:
            # The runner overlaps loading and rendering with inference: no spinning (docs/performance.md).
            runs_on = LocalEngine(Yolact(model_path, providers, score_threshold=score_threshold, top_k=top_k,
                                         intra_op_threads=threads, spinning=False, precision=precision))
    except YolactRuntimeError as error:
        reporter.error(str(error))
        sys.exit(2)
    items, input_errors = runs_on.discover(list(inputs), exclude=out_dir)
    for line in input_errors:
        reporter.error(line)
    options = RunOptions(out_dir=out_dir, json_path=json_path, save_masks=save_masks, overlays=not no_overlays,
                         batch_size=batch_size, resume=resume)
    try:
        summary = run_job(runs_on, items, options, reporter, on_total=reporter.start)
    except YolactRuntimeError as error:  # --engine ray: the cluster cannot be started or joined
        reporter.close()
        reporter.error(str(error))
        sys.exit(2)
    except KeyboardInterrupt:
        reporter.close()
        click.echo("yolact-run: interrupted", err=True)
        sys.exit(130)
    except OSError as error:  # e.g. the output folder or the JSON cannot be written
        reporter.close()
        reporter.error(f"{error.filename or out_dir}: {error.strerror or error}")
        sys.exit(1)
    except Exception as error:  # a bug: still one line (YOLACT_RUN_DEBUG=1 shows the traceback)
        if os.environ.get("YOLACT_RUN_DEBUG"):
            raise
        reporter.close()
        reporter.error(f"internal error: {type(error).__name__}: {error} (set YOLACT_RUN_DEBUG=1 for details)")
        sys.exit(1)
    reporter.close()
    overview_failed = overview_path is not None and not _overview(overview_path, items, out_dir, reporter, quiet)
    if not quiet:
        click.echo(_summary(summary, out_dir, len(input_errors)))
    if summary.failed or input_errors or overview_failed:
        sys.exit(1)


def _overview(path: Path, items: list[InputItem], out_dir: Path, reporter: _Reporter, quiet: bool) -> bool:
    """Write the overview of the image overlays there are; say where (or why not)."""
    layout = OutputLayout(out_dir)
    overlays = [(item.key, layout.overlay_path(item)) for item in items if item.kind == "image"]
    overlays = [(key, file) for key, file in overlays if file.is_file()]
    try:
        tiles = write_overview(path, overlays)
    except (OSError, ValueError) as error:
        reporter.error(f"{path}: no overview written ({getattr(error, 'strerror', None) or error})")
        return False
    if not quiet:
        click.echo(f"yolact-run: overview of {tiles} overlay{'s' if tiles != 1 else ''}: {path}")
    return True


if __name__ == "__main__":
    main()
