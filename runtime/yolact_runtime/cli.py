"""yolact-run: segment images, folders, videos and live streams with an exported model."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from . import EngineOptions, Yolact, YolactRuntimeError, read_model_info
from .contract import DEFAULT_SCORE_THRESHOLD
from .core.io import unwritable
from .core.plan import CHOICES_HELP, PRECISIONS, PROVIDER_CHOICES
from .pipeline.classes import parse_classes
from .pipeline.console import Reporter, finish_on_ctrl_c, listed, setup_logging, summary_line
from .pipeline.discover import InputItem
from .pipeline.help import GroupedCommand
from .pipeline.image_ids import read_ground_truth
from .pipeline.job import Engine, RunOptions, run_job
from .pipeline.layout import OutputLayout
from .pipeline.local_engine import LocalEngine
from .pipeline.overview import MAX_TILES, write_overview
from .pipeline.track import check_tracking

SECTIONS = {
    "Inputs": ["files_from", "vid_stride", "max_frames", "no_drop"],
    "Outputs": ["out_dir", "json_path", "annotations", "jsonl_path", "save_masks", "save_txt", "polygons",
                "no_overlays", "overview_path", "track", "resume", "quiet"],
    "Model": ["model_path", "classes", "score_threshold", "top_k", "providers", "precision", "threads", "batch_size"],
    "Engine": ["engine", "ray_address", "workers", "gpus_per_worker"],
}
LOCAL_ONLY = {"jsonl_path": "--jsonl", "track": "--track"}  # besides videos and live sources


@click.command(cls=GroupedCommand, sections=SECTIONS, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, type=click.Path())  # str: keeps URIs (s3://, rtsp://) intact
@click.option("--files-from", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also take the inputs listed in this file, one per line (blank lines and # comments skipped).")
@click.option("--vid-stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="Videos and streams: take every N-th frame.")
@click.option("--max-frames", type=click.IntRange(min=1), default=None,
              help="Videos and streams: stop each after this many frames.")
@click.option("--no-drop", is_flag=True, help="Live sources: process every frame (default: only the newest one "
                                              "while the model is busy, counting the others as dropped).")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Output folder: overlays/, masks/, labels/, detections/.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write COCO results (RLE masks, image ids, file names) for all inputs here; image ids: "
                   "a numeric file stem's number, else a stable hash of the name (README, \"COCO image ids\").")
@click.option("--annotations", type=click.Path(path_type=Path, dir_okay=False),
              help="A COCO ground truth: --json takes its image ids by file name (an input it does not list "
                   "is left out of the --json, with an error line).")
@click.option("--jsonl", "jsonl_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Stream one JSON line per image and frame here, flushed as each is done.")
@click.option("--save-masks", is_flag=True, help="Write per-image PNG instance maps (0 = none, i+1 = detection i).")
@click.option("--save-txt", is_flag=True, help="Write YOLO segmentation labels: labels/<item>.txt "
                                               "(class x1 y1 x2 y2 ..., normalised).")
@click.option("--polygons", is_flag=True, help="Masks as COCO polygons (outer outlines) instead of RLE in the "
                                               "records and --json.")
@click.option("--no-overlays", is_flag=True, help="Do not write overlay images and videos.")
@click.option("--overview", "overview_path", type=click.Path(path_type=Path, dir_okay=False),
              help=f"Also write one picture here: the image overlays in a grid (the first {MAX_TILES}); "
                   "its path is printed first.")
@click.option("--track", is_flag=True, help="Videos and streams: give each detection a track_id (ByteTrack; "
                                            "pip install yolact-export[track]); overlays coloured by track.")
@click.option("--resume", is_flag=True, help="Skip inputs whose outputs already exist.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary; errors only.")
@click.option("--model", "-m", "model_path", required=True, type=click.Path(path_type=Path),
              help="ONNX model exported by yolact-export.")
@click.option("--classes", multiple=True, metavar="NAMES|IDS",
              help="Keep only these classes: names or 0-based ids from the model, comma-separated or repeated.")
@click.option("--score-threshold", type=click.FloatRange(0.0, 1.0), default=DEFAULT_SCORE_THRESHOLD, show_default=True,
              help="Keep detections whose box score is above this (all outputs; yolact-cpp-run has the same "
                   "default; 0 keeps every row the graph returns, for COCO evaluation).")
@click.option("--top-k", type=click.IntRange(min=1), default=None, help="Keep at most this many detections per image.")
@click.option("--providers", type=click.Choice(PROVIDER_CHOICES), default="auto", show_default=True,
              help=f"Engine and provider. {CHOICES_HELP} The one line it prints says which, and why.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="default", show_default=True,
              help="OpenVINO's precision: default (its choice: bf16 on AMX / AVX512-BF16 CPUs) or f32 (exact; auto "
                   "then takes ONNX Runtime).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Engine threads (ONNX Runtime intra-op, OpenVINO INFERENCE_NUM_THREADS).")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Images or frames per inference call.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this process; ray: a Ray cluster with Ray Data (pip install yolact-export[ray]).")
@click.option("--ray-address", default=None, metavar="ADDRESS",
              help="--engine ray: 'auto' or 'ray://host:port' joins a running cluster; default starts a local Ray.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="--engine ray: model actors (default: as many as the cluster's CPUs, or GPUs, allow).")
@click.option("--gpus-per-worker", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="--engine ray: GPUs Ray reserves per actor (0: CPU actors, --providers auto then means cpu).")
def main(inputs: tuple[str, ...], files_from: Path | None, vid_stride: int, max_frames: int | None, no_drop: bool,
         out_dir: Path, json_path: Path | None, annotations: Path | None, jsonl_path: Path | None, save_masks: bool,
         save_txt: bool, polygons: bool, no_overlays: bool, overview_path: Path | None, track: bool, resume: bool,
         quiet: bool, model_path: Path, classes: tuple[str, ...], score_threshold: float, top_k: int | None, providers: str,
         precision: str, threads: int | None, batch_size: int, engine: str, ray_address: str | None,
         workers: int | None, gpus_per_worker: float) -> None:
    """Segment INPUTS with a YOLACT ONNX model: images, folders (searched recursively), videos, and live
    sources (a webcam index such as 0, rtsp://..., http(s)://...).

    With --engine ray, INPUTS may also be URIs that pyarrow reads (s3://, gs://, hdfs://, file://).
    """
    if files_from is not None:
        inputs = (*inputs, *listed(files_from))
    if not inputs:
        raise click.UsageError("give at least one input (or --files-from)")
    if annotations is not None and json_path is None:
        raise click.UsageError("--annotations sets the image ids of --json: give --json too")
    if overview_path is not None and no_overlays:
        raise click.UsageError("--overview is made of the overlays: drop --no-overlays")
    given = {"jsonl_path": jsonl_path is not None, "track": track}
    if engine == "ray" and any(given.values()):
        flags = ", ".join(flag for name, flag in LOCAL_ONLY.items() if given[name])
        raise click.UsageError(f"{flags}: videos and live sources run without --engine ray; drop it")
    setup_logging(quiet)
    reporter = Reporter(quiet)
    # exit status (README, "Exit status"): 2 before any work for a bad model or an output that cannot be written
    outputs = [p for p in (json_path, jsonl_path, overview_path) if p is not None]
    for problem in filter(None, [unwritable(p) for p in outputs] + ([] if out_dir.is_dir() else [unwritable(out_dir)])):
        reporter.error(problem)
        sys.exit(2)
    try:
        if track:
            check_tracking()
        ground_truth = read_ground_truth(annotations) if annotations is not None else None
        wanted = parse_classes(classes, read_model_info(model_path).class_names) if classes else None
        runs_on = _engine(engine, model_path, wanted, score_threshold, top_k, providers, precision, threads,
                          ray_address, workers, gpus_per_worker)
    except (YolactRuntimeError, ValueError) as error:
        reporter.error(str(error))
        sys.exit(2)
    items, input_errors = runs_on.discover(list(inputs), exclude=out_dir)
    for line in input_errors:
        reporter.error(line)
    options = RunOptions(out_dir=out_dir, json_path=json_path, save_masks=save_masks, overlays=not no_overlays,
                         batch_size=batch_size, resume=resume, polygons=polygons, save_txt=save_txt,
                         jsonl_path=jsonl_path, track=track, vid_stride=vid_stride, max_frames=max_frames,
                         drop=not no_drop, ground_truth=ground_truth)
    finish = getattr(runs_on, "finish", None)
    try:
        with finish_on_ctrl_c(finish) if finish is not None else contextlib.nullcontext():
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
        sys.exit(2)
    except Exception as error:  # a bug: still one line (YOLACT_RUN_DEBUG=1 shows the traceback)
        if os.environ.get("YOLACT_RUN_DEBUG"):
            raise
        reporter.close()
        reporter.error(f"internal error: {type(error).__name__}: {error} (set YOLACT_RUN_DEBUG=1 for details)")
        sys.exit(1)
    reporter.close()
    overview_failed = overview_path is not None and not _overview(overview_path, items, out_dir, reporter, quiet)
    if not quiet:
        click.echo(summary_line(summary, out_dir, len(input_errors)))
    if finish is not None and finish.is_set():
        click.echo("yolact-run: interrupted", err=True)  # everything written so far is complete
        sys.exit(130)
    if summary.failed or input_errors or overview_failed:
        sys.exit(1)


def _engine(engine: str, model_path: Path, classes: frozenset[int] | None, score_threshold: float,
            top_k: int | None, providers: str, precision: str, threads: int | None, ray_address: str | None,
            workers: int | None, gpus_per_worker: float) -> Engine:
    if engine == "ray":
        from .cluster.ray_engine import ModelSettings, RayEngine, RaySettings

        engine_options = EngineOptions(providers=providers, intra_op_threads=threads, precision=precision)
        return RayEngine(model_path, ModelSettings(engine_options, score_threshold, top_k, classes),
                         RaySettings(address=ray_address, workers=workers, gpus_per_worker=gpus_per_worker))
    # The runner overlaps loading and rendering with inference: no spinning (docs/performance.md).
    return LocalEngine(Yolact(model_path, providers, score_threshold=score_threshold, top_k=top_k, classes=classes,
                              intra_op_threads=threads, spinning=False, precision=precision))


def _overview(path: Path, items: list[InputItem], out_dir: Path, reporter: Reporter, quiet: bool) -> bool:
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
