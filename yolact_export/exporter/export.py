"""Export a YOLACT model to one self-describing ONNX graph (decoding and Fast NMS included)."""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Callable

import onnx
import torch
from yolact_runtime import contract
from yolact_runtime.tools import atomic_path

from .. import __version__
from ..detection.graph import NmsSettings, YolactDetector
from ..model.config import YolactConfig
from ..model.yolact import YolactNet
from .choices import DEFAULT_EXPORTER, EXPORTERS
from .dcn_op import MIN_OPSET, dcn_mode
from .dynamo import MIN_TORCH, export_dynamo, torch_supports_dynamo
from .fp16 import convert_network_to_fp16

DEFAULT_OPSET = 19


class ExportError(RuntimeError):
    pass


def build_metadata(config: YolactConfig, nms: NmsSettings, output_names: list[str],
                   dcn: str | None = None, precision: str = "fp32") -> dict[str, str]:
    """Everything the runtimes need, as ONNX metadata_props (the contract's writer).

    dcn (YOLACT++ only): how DCNv2 is in the graph, so a runtime can say what it means there.
    """
    preprocess = contract.PreprocessSpec(config.transform, tuple(config.mean_bgr), tuple(config.std_bgr),
                                         config.channel_order)
    return contract.write_metadata(contract.ModelInfo(
        contract_version=contract.CONTRACT_VERSION, class_names=tuple(config.class_names),
        input_size=config.max_size, preprocess=preprocess, outputs=tuple(output_names),
        category_ids=None if config.category_ids is None else tuple(config.category_ids),
        exporter_version=__version__, config=config.name, mask_dim=config.mask_dim,
        nms={"score_threshold": nms.score_threshold, "iou_threshold": nms.iou_threshold, "top_k": nms.top_k,
             "max_detections": nms.max_detections, "cross_class": nms.cross_class},
        dcn=dcn if config.has_dcn and dcn else None, contract_minor=contract.CONTRACT_MINOR, precision=precision))


class _TupleOutputs(torch.nn.Module):
    """The exporters want a tuple in output-name order."""

    def __init__(self, detector: YolactDetector):
        super().__init__()
        self.detector = detector

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.detector(images)
        return tuple(out[name] for name in self.detector.output_names)


def _to_onnx(detector: YolactDetector, tmp: Path, batch: int | None, opset: int, dcn: str,
             exporter: str) -> onnx.ModelProto:
    size = detector.model.config.max_size
    names = detector.output_names
    # A dynamic batch is traced at 2: torch.export specialises a size-1 dimension.
    dummy = torch.zeros(batch or (2 if exporter == "dynamo" else 1), 3, size, size)
    # .eval(): the exporters restore the wrapper's mode onto every submodule afterwards.
    module = _TupleOutputs(detector).eval()
    with dcn_mode(detector.model, dcn), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation chatter, not actionable for users
        if exporter == "dynamo":
            return export_dynamo(module, dummy, batch is None, opset, contract.INPUT, names)
        raw = tmp / "raw.onnx"
        dynamic = None if batch else {name: {0: "batch"} for name in [contract.INPUT, *names]}
        torch.onnx.export(module, (dummy,), str(raw), dynamo=False, opset_version=opset,
                          input_names=[contract.INPUT], output_names=names, dynamic_axes=dynamic,
                          do_constant_folding=True)
    return onnx.load(str(raw))


def _output_shapes(detector: YolactDetector, batch: int | None) -> dict[str, list]:
    cfg, d = detector.model.config, detector.nms.max_detections
    h = w = 2 * ((cfg.max_size + 7) // 8)  # prototypes: twice the P3 grid
    b = batch or "batch"
    shapes = {contract.BOXES: [b, d, 4], contract.SCORES: [b, d], contract.CLASSES: [b, d],
              contract.COEFFICIENTS: [b, d, cfg.mask_dim], contract.PROTOTYPES: [b, h, w, cfg.mask_dim],
              contract.NUM_DETECTIONS: [b], contract.MASKS: [b, d, h, w], contract.MASK_SCORES: [b, d]}
    return {name: shapes[name] for name in detector.output_names}


def _set_output_shapes(model: onnx.ModelProto, shapes: dict[str, list]) -> None:
    """Tracing loses the static D; write the contract's shapes onto the graph outputs."""
    for output in model.graph.output:
        dims = output.type.tensor_type.shape.dim
        del dims[:]
        for value in shapes[output.name]:
            dim = dims.add()
            if isinstance(value, int):
                dim.dim_value = value
            else:
                dim.dim_param = value


def _simplify(model: onnx.ModelProto, log: Callable[[str], None]) -> onnx.ModelProto:
    try:
        import onnxsim

        simplified, ok = onnxsim.simplify(model)
        if ok:
            return simplified
        log("onnxsim could not validate the simplified graph; keeping the unsimplified one")
    except Exception as exc:  # onnxsim failures must never fail the export
        log(f"onnxsim failed ({type(exc).__name__}: {str(exc)[:200]}); keeping the unsimplified graph")
    return model


def export_onnx(model: YolactNet, out: str | Path, nms: NmsSettings | None = None, batch: int | None = None,
                opset: int = DEFAULT_OPSET, masks_in_graph: bool = False, fp16: bool = False,
                simplify: bool = True, dcn: str = "native", exporter: str = DEFAULT_EXPORTER,
                log: Callable[[str], None] = lambda _m: None) -> Path:
    """Write `out` atomically. batch=None gives a dynamic batch dimension. exporter: "dynamo"
    (torch.export, see dynamo.py) or "torchscript" (torch.onnx's legacy tracer, deprecated upstream)."""
    if exporter not in EXPORTERS:
        raise ExportError(f"unknown --exporter {exporter!r}: choose {' or '.join(EXPORTERS)}")
    if exporter == "dynamo" and not torch_supports_dynamo():
        raise ExportError(f"--exporter dynamo needs torch >= {'.'.join(map(str, MIN_TORCH))} "
                          f"(this is {torch.__version__}); use --exporter torchscript")
    if dcn not in ("native", "decomposed"):
        raise ExportError(f"unknown --dcn {dcn!r}: choose native or decomposed")
    if model.config.has_dcn and dcn == "native" and opset < MIN_OPSET:
        raise ExportError(f"native DeformConv needs opset >= {MIN_OPSET}; use --opset {MIN_OPSET} or --dcn decomposed")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    detector = YolactDetector(model.eval(), nms, masks_in_graph).eval()
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        log(f"exporting {model.config.name} at {model.config.max_size}x{model.config.max_size} "
            f"with the {exporter} exporter (opset {opset})")
        with torch.no_grad():
            graph = _to_onnx(detector, Path(tmp), batch, opset, dcn, exporter)
        if fp16:
            log("converting the network to fp16")
            graph = convert_network_to_fp16(graph)
        if simplify:
            log("simplifying with onnxsim")
            graph = _simplify(graph, log)
        _set_output_shapes(graph, _output_shapes(detector, batch))
        meta = build_metadata(model.config, detector.nms, detector.output_names, dcn, "fp16" if fp16 else "fp32")
        del graph.metadata_props[:]
        for key, value in meta.items():
            graph.metadata_props.add(key=key, value=value)
        graph.producer_name, graph.producer_version = "yolact-export", __version__
        onnx.checker.check_model(graph)
        with atomic_path(out) as final:
            onnx.save(graph, str(final))
    log(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return out
