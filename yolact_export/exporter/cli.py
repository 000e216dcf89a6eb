"""`yolact-export`: thin click command over export_onnx and the parity check (yolact_runtime.parity)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .choices import DEFAULT_EXPORTER, EXPORTERS


def _fail(message: str, status: int = 2) -> None:
    """One line, then the exit status (README, "Exit status": 2 for a bad checkpoint, model or output)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(status)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--weights", required=True, type=click.Path(dir_okay=False), help="Checkpoint (.pth), official or ours.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="ONNX file to write.")
@click.option("--config", default=None, help="Config name (default: inferred from the weights).")
@click.option("--input-size", type=int, default=None, help="Input size S (default: from config / file name, else 550).")
@click.option("--score-threshold", type=float, default=0.05, show_default=True, help="Candidate score threshold.")
@click.option("--iou-threshold", type=float, default=0.5, show_default=True, help="Fast NMS IoU threshold.")
@click.option("--nms-top-k", "top_k", type=click.IntRange(min=1), default=200, show_default=True,
              help="Candidates per class entering the Fast NMS (the original's top_k; yolact-run --top-k is "
                   "another thing: detections kept per image).")
@click.option("--top-k", "old_top_k", type=click.IntRange(min=1), default=None, hidden=True,
              help="Deprecated name of --nms-top-k (one release).")
@click.option("--max-detections", type=int, default=None,
              help="D, rows per image in the outputs (default: 100; --cross-class-nms: --nms-top-k, as the original).")
@click.option("--cross-class-nms", is_flag=True, help="One NMS over all classes instead of per class.")
@click.option("--batch", type=int, default=None, help="Fixed batch size (default: dynamic).")
@click.option("--opset", type=int, default=19, show_default=True,
              help="ONNX opset of the graph (19: DeformConv and the ops the runtimes are tested with).")
@click.option("--masks-in-graph", is_flag=True, help="Also output cropped σ(PCᵀ) masks at prototype resolution.")
@click.option("--fp16", is_flag=True, help="Half-precision weights (for GPUs); NMS stays fp32.")
@click.option("--simplify/--no-simplify", default=True, show_default=True, help="Run onnxsim.")
@click.option("--dcn", type=click.Choice(["native", "decomposed"]), default="native", show_default=True,
              help="YOLACT++ DCNv2 as ONNX DeformConv, or as plain ops for runtimes without it.")
@click.option("--exporter", type=click.Choice(EXPORTERS), default=DEFAULT_EXPORTER, show_default=True,
              help="torch.onnx's torch.export-based exporter, or its TorchScript tracer (deprecated upstream).")
@click.option("--check", "check_paths", multiple=True, type=click.Path(exists=True),
              help="Image or folder to compare PyTorch and ONNX Runtime on (repeatable).")
@click.option("--int8", is_flag=True,
              help="Write a static INT8 (QDQ) graph: the network quantized, decoding/NMS kept float.")
@click.option("--calibration-images", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder of real images to calibrate --int8 on (preprocessed as the runtime does).")
def export_main(weights, out, config, input_size, score_threshold, iou_threshold, top_k, old_top_k, max_detections,
                cross_class_nms, batch, opset, masks_in_graph, fp16, simplify, dcn, exporter, check_paths, int8,
                calibration_images) -> None:
    """Export a YOLACT / YOLACT++ checkpoint to one ONNX graph with in-graph Fast NMS.

    \b
    Examples:
      yolact-export --weights yolact_base_54_800000.pth --out yolact_base.onnx
      yolact-export --weights yolact_plus_resnet50_54_800000.pth --out plus.onnx --check photos/
      yolact-export --weights yolact_im700_54_800000.pth --out im700.onnx --batch 1 --fp16
      yolact-export --weights yolact_base_54_800000.pth --out base_int8.onnx --int8 --calibration-images val/
    """
    from ..model.checkpoint import CheckpointError, load_checkpoint
    from ..detection.graph import NmsSettings
    from .export import ExportError, export_onnx

    start = time.perf_counter()
    if old_top_k is not None:
        click.echo("yolact-export: --top-k is deprecated: it is --nms-top-k now (candidates per class entering NMS)",
                   err=True)
        top_k = old_top_k

    def log(message: str) -> None:
        click.echo(f"[{time.perf_counter() - start:6.1f}s] {message}", err=True)

    if int8 and (fp16 or not calibration_images):
        _fail("--int8 needs --calibration-images DIR" if not fp16 else "--int8 and --fp16 exclude each other")
    from yolact_runtime import InputError, YolactRuntimeError

    from .int8 import QuantizeError

    from yolact_runtime.tools import unwritable

    if problem := unwritable(out):
        _fail(problem)
    try:
        model, cfg = load_checkpoint(weights, config=config, input_size=input_size)
        log(f"loaded {weights}: {cfg.name}, {cfg.num_classes - 1} classes, input {cfg.max_size}")
        nms = NmsSettings(score_threshold, iou_threshold, top_k, max_detections, cross_class_nms)
        # --int8: the fp32 graph (checked with --check) is quantized into `out`, then removed.
        fp32_out = Path(out).with_name(Path(out).stem + ".fp32.tmp.onnx") if int8 else out
        path = export_onnx(model, fp32_out, nms, batch=batch, opset=opset, masks_in_graph=masks_in_graph,
                           fp16=fp16, simplify=simplify, dcn=dcn, exporter=exporter, log=log)
        try:
            if check_paths:  # yolact-check's reference mode: its lines and exit status
                from .reference import check_export

                status = check_export(model, path, check_paths, log)
                if status:
                    sys.exit(status)
            if int8:
                from .int8 import quantize_int8
                quantize_int8(path, out, calibration_images, log=log)
        finally:
            if int8:
                Path(fp32_out).unlink(missing_ok=True)
    except (InputError, QuantizeError) as exc:  # an image of --check, or the --calibration-images
        _fail(str(exc), 1)
    except OSError as exc:
        _fail(f"{exc.filename or out}: {exc.strerror or exc}")
    except (CheckpointError, ExportError, YolactRuntimeError, ValueError) as exc:
        _fail(str(exc))
