"""yolact-check: a parity gate for CI (the runtime against the PyTorch reference or a golden file)."""
from __future__ import annotations

import sys
from importlib.metadata import entry_points

import click

from ..errors import YolactRuntimeError
from ..contract import DEFAULT_SCORE_THRESHOLD
from ..core.model import Yolact
from ..core.plan import CHOICES_HELP, PRECISIONS, PROVIDER_CHOICES
from ..pipeline.discover import discover
from .check import ReferenceSide, check_against, check_golden, check_reference, runtime_profile
from .outcome import USAGE, ReportWriteError, finish
from .profiles import PROFILES, Profile, profile_for
from .report import CheckReport
from .results_file import ResultsFileError, read_results

USAGE_LINE = "give --weights or --golden with --model and images, or --golden and --against"
# Reference mode's PyTorch side registers here (yolact_export, pyproject.toml): torch stays out of the runtime.
REFERENCE_ENTRY_POINTS = "yolact_runtime.parity.reference"
NO_REFERENCE = "--weights needs the PyTorch reference ({}): pip install '.[export]', or check against a --golden file"


def _error(message: str) -> None:
    click.echo(f"error: {message}", err=True)


def _stop(message: str) -> None:
    _error(message)
    sys.exit(USAGE)


def _profile(name: str, base: Profile, overrides: dict[str, float | None]) -> Profile:
    return (base if name == "auto" else PROFILES[name]).override(**overrides)


def load_reference(weights: str, model: Yolact) -> ReferenceSide:
    """The registered reference side for `weights`; a one-line stop when it (or torch) is missing."""
    found = list(entry_points(group=REFERENCE_ENTRY_POINTS))
    if not found:
        _stop(NO_REFERENCE.format("yolact_export is not installed"))
    try:
        make = found[0].load()
    except ImportError as error:
        _stop(NO_REFERENCE.format(f"{error.name or error} is missing"))
    try:
        return make(weights, model.info)
    except (ValueError, OSError) as error:  # CheckpointError is a ValueError
        _stop(str(error) if str(weights) in str(error) else f"{weights}: {error}")


def _run(weights: str | None, model_path: str | None, golden: str | None, against: str | None,
         inputs: tuple[str, ...], providers: str, profile_name: str, overrides: dict, threshold: float,
         threads: int | None, precision: str = "default") -> tuple[CheckReport, list[str]]:
    """The report and the input error lines; exits 2 on anything that stops the check."""
    if against:
        if not golden or weights or model_path or inputs:
            raise click.UsageError("--against compares two results files: give --golden FILE --against FILE only")
        profile = _profile(profile_name, profile_for("fp32"), overrides)
        return check_against(read_results(golden), read_results(against), (golden, against), profile, threshold), []
    if not model_path or bool(weights) == bool(golden) or not inputs:
        raise click.UsageError(USAGE_LINE)
    model = Yolact(model_path, providers, score_threshold=0.0, intra_op_threads=threads, precision=precision)
    profile = _profile(profile_name, runtime_profile(model), overrides)
    if golden:
        items, input_errors = discover(list(inputs))
        return check_golden(model, read_results(golden), golden, items, profile, threshold), input_errors
    return check_reference(model, load_reference(weights, model), inputs, weights, profile, threshold)


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
@click.option("--score-threshold", type=click.FloatRange(0.0, 1.0), default=DEFAULT_SCORE_THRESHOLD,
              show_default=True, help="Compare the detections whose box score is above this, as yolact-run keeps "
                                      "them (use the golden run's --score-threshold; 0: every detection).")
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
    Exit status: 0 parity; 1 a parity failure or an input that could not be checked (one error line
    each; the other images are still checked); 2 usage, a missing or invalid model, checkpoint or
    results file, or an unwritable report.
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
    try:
        status = finish(report, input_errors, click.echo, lambda line: click.echo(line, err=True), json_path,
                        junit_path)
    except ReportWriteError as error:
        _stop(str(error))
    sys.exit(status)


if __name__ == "__main__":
    main()
