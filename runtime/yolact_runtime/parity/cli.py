"""yolact-check: a parity gate for CI (the runtime against the PyTorch reference or a golden file)."""
from __future__ import annotations

import json
import sys

import click

from ..core.errors import YolactRuntimeError
from ..core.io import write_bytes
from ..core.model import Yolact
from ..core.plan import CHOICES_HELP, PRECISIONS, PROVIDER_CHOICES
from ..pipeline.discover import discover
from .check import check_against, check_golden, check_reference, failed_input
from .profiles import PROFILES, Profile, profile_for
from .report import CheckReport, summary, to_json, to_junit
from .results_file import ResultsFileError, read_results

USAGE = "give --weights or --golden with --model and images, or --golden and --against"


def _error(message: str) -> None:
    click.echo(f"error: {message}", err=True)


def _stop(message: str) -> None:
    _error(message)
    sys.exit(2)


def _profile(name: str, precision: str, overrides: dict[str, float | None]) -> Profile:
    base = profile_for(precision) if name == "auto" else PROFILES[name]
    return base.override(**overrides)


def _run(weights: str | None, model_path: str | None, golden: str | None, against: str | None,
         inputs: tuple[str, ...], providers: str, profile_name: str, overrides: dict, threshold: float,
         threads: int | None, precision: str = "default") -> tuple[CheckReport, list[str]]:
    """The report and the input error lines; exits 2 on anything that stops the check."""
    if against:
        if not golden or weights or model_path or inputs:
            raise click.UsageError("--against compares two results files: give --golden FILE --against FILE only")
        profile = _profile(profile_name, "fp32", overrides)
        return check_against(read_results(golden), read_results(against), (golden, against), profile, threshold), []
    if not model_path or bool(weights) == bool(golden) or not inputs:
        raise click.UsageError(USAGE)
    model = Yolact(model_path, providers, score_threshold=0.0, intra_op_threads=threads, precision=precision)
    runs = "bf16" if model.precision == "bf16" else model.info.precision  # OpenVINO's default on bf16 CPUs
    profile = _profile(profile_name, runs, overrides)
    items, input_errors = discover(list(inputs))
    if golden:
        return check_golden(model, read_results(golden), golden, items, profile, threshold), input_errors
    try:  # the PyTorch reference lives with the exporter: torch is imported only here
        from yolact_export.exporter.reference import load_reference
    except ImportError as error:
        _stop(f"--weights needs the PyTorch reference ({error.name or error} is missing): "
              "pip install 'yolact-export[export]', or check against a --golden file")
    try:
        reference = load_reference(weights, model.info)
    except (ValueError, OSError) as error:  # CheckpointError is a ValueError
        _stop(str(error) if str(weights) in str(error) else f"{weights}: {error}")
    return check_reference(model, reference, items, profile, threshold, weights), input_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option("--model", "-m", "model_path", type=click.Path(dir_okay=False), help="The exported ONNX model.")
@click.option("--weights", type=click.Path(dir_okay=False), help="Its checkpoint: compare with the PyTorch reference.")
@click.option("--golden", type=click.Path(dir_okay=False),
              help="A COCO results file from yolact-run --json or yolact-cpp-run --json to compare with.")
@click.option("--against", type=click.Path(dir_okay=False), help="A second results file: compare it with --golden.")
@click.option("--providers", default="auto", show_default=True, metavar="|".join(PROVIDER_CHOICES),
              help=f"Engine and provider of the runtime side (as yolact-run's). {CHOICES_HELP}")
@click.option("--precision", type=click.Choice(PRECISIONS), default="default", show_default=True,
              help="OpenVINO's precision: default (bf16 on AMX / AVX512-BF16 CPUs) or f32 (exact).")
@click.option("--profile", "profile_name", type=click.Choice(["auto", *PROFILES]), default="auto", show_default=True,
              help="auto: exact for fp32 graphs, reduced for fp16 / int8 graphs (the model's precision metadata) "
                   "and for OpenVINO running bf16 (read back).")
@click.option("--box-tol", type=float, help="exact: pixels per box coordinate (default 1).")
@click.option("--score-tol", type=float, help="exact: 1e-4; reduced: top-10 score drift (default 0.1).")
@click.option("--min-mask-iou", type=float, help="exact: per detection (0.99); reduced: mean of the top 10 (0.9).")
@click.option("--min-agreement", type=float, help="reduced: share of the reference's top 10 found (default 0.9).")
@click.option("--score-threshold", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Compare the detections scoring at least this (use the golden run's --score-threshold).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Engine threads (ONNX Runtime intra-op, OpenVINO INFERENCE_NUM_THREADS).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Write per-image and per-detection numbers here.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False),
              help="Write JUnit XML here (one case per image).")
def main(inputs, model_path, weights, golden, against, providers, precision, profile_name, box_tol, score_tol,
         min_mask_iou, min_agreement, score_threshold, threads, json_path, junit_path) -> None:
    """Check that a deployed model still gives the reference's detections on INPUTS (images, folders).

    \b
    Exit status: 0 parity; 1 a parity failure or an image that could not be checked (one error line
    each; the other images are still checked); 2 usage, a missing or invalid model, golden or output.
    Examples:
      yolact-check --weights w.pth --model m.onnx photos/               # vs the PyTorch reference
      yolact-check --model m.onnx --golden golden.json photos/ --junit parity.xml   # no torch
      yolact-check --golden python.json --against cpp.json               # two results files
    """
    overrides = {"box_tol": box_tol, "score_tol": score_tol, "min_mask_iou": min_mask_iou,
                 "min_agreement": min_agreement}
    try:
        report, input_errors = _run(weights, model_path, golden, against, inputs, providers, profile_name,
                                    overrides, score_threshold, threads, precision)
    except (YolactRuntimeError, ResultsFileError) as error:
        _stop(str(error))
    except OSError as error:
        _stop(f"{error.filename or model_path}: {error.strerror or error}")
    report.images += [failed_input(line.split(": ", 1)[0], line) for line in input_errors]
    for image in report.errors:
        _error(str(image.error))
    for line in summary(report):
        click.echo(line)
    try:
        if json_path:
            write_bytes(json_path, json.dumps(to_json(report), indent=1).encode("utf-8"))
        if junit_path:
            write_bytes(junit_path, to_junit(report))
    except OSError as error:
        _stop(f"{error.filename or json_path or junit_path}: {error.strerror or error}")
    if not report.images:
        sys.exit(2)
    sys.exit(0 if report.passed and not report.errors else 1)  # README, "Exit status"


if __name__ == "__main__":
    main()
