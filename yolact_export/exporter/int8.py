"""Static INT8 quantization (QDQ) of an exported YOLACT graph with onnxruntime.quantization.

Only the network is quantized: the nodes under NETWORK_SCOPES (scopes.py: /detector/model/
{backbone,fpn,proto_net,prediction_layers.}, the scopes the fp16 converter uses too). Everything else, the softmax, box
decoding, Fast NMS, coefficient gathering and in-graph masks, stays float32, so scores near the
thresholds and IoUs near the NMS threshold are computed as in the fp32 graph. Weights are
quantized per output channel (int8, symmetric), activations per tensor (uint8, asymmetric),
calibrated (min/max by default) on real images preprocessed exactly as yolact_runtime does.

ONNX Runtime fuses each DequantizeLinear -> Conv -> QuantizeLinear group into a QLinearConv on
the CPU; MLAS picks its int8 GEMM kernel from the CPU (AVX2, AVX-VNNI, AVX512-VNNI, AMX).

reduce_range (7-bit weights) is on by default: without VNNI, MLAS multiplies u8 x s8 with
vpmaddubsw, whose int16 pair sums saturate with full-range weights; on a random-weight ResNet-50
that halved the top-10 agreement with fp32 (0.45 vs 0.85 matched at IoU > 0.8). With VNNI / AMX
there is no saturation and 7 bits cost little. weight_type="uint8" (u8 x u8) avoids saturation
at 8 bits but runs slower on AVX2 and gets no VNNI speed-up.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import onnx
from yolact_runtime import contract
from yolact_runtime.tools import image_files
from yolact_runtime.tools import atomic_path

from .scopes import NETWORK_SCOPES

# Ops the quantizer may wrap in Q/DQ inside the network scopes. Tanh (mask coefficients) and the
# shape plumbing of the heads stay float; Relu/Add/MaxPool/Resize/Concat between convs are
# quantized so that ONNX Runtime can keep whole conv chains in int8.
OP_TYPES = ("Conv", "Add", "Relu", "MaxPool", "Resize", "Concat", "Transpose", "Reshape")
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")


class QuantizeError(RuntimeError):
    pass


@contextlib.contextmanager
def quiet_quantizer() -> Iterator[None]:
    """onnxruntime.quantization logs advice on the root logger; keep it off the user's terminal."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def calibration_files(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                      limit: int | None = None) -> list[Path]:
    """Images under a directory (recursive, sorted), or the given files; at most `limit`, spread evenly."""
    if isinstance(source, (str, os.PathLike)):
        root = Path(source)
        if not root.is_dir():
            raise QuantizeError(f"--calibration-images {root}: not a directory")
        files = image_files(root)
        if not files:
            raise QuantizeError(f"--calibration-images {root}: no images found")
    else:
        files = [Path(p) for p in source]
        missing = [p for p in files if not p.is_file()]
        if missing or not files:
            raise QuantizeError(f"calibration images: {missing[0] if missing else 'none given'} not found")
    if limit is not None and len(files) > limit:
        picks = np.linspace(0, len(files) - 1, limit).round().astype(int)
        files = [files[i] for i in sorted(set(picks.tolist()))]
    return files


def calibration_batches(model_path: str | os.PathLike[str], files: Sequence[Path],
                        warn: Callable[[str], None] = lambda _m: None) -> Iterator[np.ndarray]:
    """Each file preprocessed by yolact_runtime (the graph's own metadata), as [B, 3, S, S] batches.

    An unreadable image is skipped with a warning, as yolact-run does: calibration only needs
    typical activations, and one bad file in a folder of real images should not stop an export.
    None readable is an error (QuantizeError).
    """
    from yolact_runtime import Yolact
    from yolact_runtime import InputError
    from yolact_runtime.tools import read_image

    model = Yolact(os.fspath(model_path), providers="cpu")  # metadata and batch as the runtime reads them
    batch = model.fixed_batch or 1
    pending: list[np.ndarray] = []
    used = 0
    for path in files:
        try:
            image = read_image(path)
        except InputError as exc:
            warn(f"warning: {exc} (skipped for calibration)")
            continue
        used += 1
        pending.append(model.preprocess_one(image))
        if len(pending) == batch:
            yield np.stack(pending)
            pending = []
    if used == 0:
        raise QuantizeError(f"calibration images: none of the {len(files)} files could be read "
                            f"(first: {files[0] if files else 'none'})")
    if pending:  # a fixed-batch graph gets its last batch padded by repeating images
        while len(pending) < batch:
            pending.append(pending[len(pending) % max(1, len(pending))])
        yield np.stack(pending)


def float_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes that must stay float: everything outside the network scopes."""
    return [n.name for n in model.graph.node if not n.name.startswith(NETWORK_SCOPES)]


def quantize_int8(fp32_model: str | os.PathLike[str], out: str | os.PathLike[str],
                  calibration_images: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                  limit: int | None = 64, method: str = "minmax", per_channel: bool = True,
                  reduce_range: bool = True, weight_type: str = "int8", exclude: Sequence[str] = (),
                  log: Callable[[str], None] = lambda _m: None) -> Path:
    """Write `out`: the QDQ int8 version of the exported `fp32_model` (metadata kept, plus
    the metadata key KEY_QUANTIZATION).

    calibration_images: a folder (searched recursively) or a list of image files; at most `limit`
    are used, spread evenly. exclude: extra node-name prefixes to keep in float (e.g.
    "/detector/model/proto_net/proto_net.10/"). weight_type: "int8" or "uint8".
    """
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if weight_type not in ("int8", "uint8"):
        raise QuantizeError(f"weight_type must be int8 or uint8, got {weight_type!r}")
    if method not in CALIBRATION_METHODS:
        raise QuantizeError(f"unknown calibration method {method!r}: choose one of {', '.join(CALIBRATION_METHODS)}")
    files = calibration_files(calibration_images, limit)
    source = onnx.load(os.fspath(fp32_model))
    if any(i.data_type == onnx.TensorProto.FLOAT16 for i in source.graph.initializer):
        raise QuantizeError("INT8 quantization needs the fp32 export (drop --fp16)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = calibration_batches(fp32_model, files, warn=log)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {"images": batch}

    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Shape inference only: ORT's optimizer would rename and fuse nodes, and the graph is
        # already simplified by onnxsim at export.
        quant_pre_process(os.fspath(fp32_model), os.fspath(prepared), skip_optimization=True,
                          skip_symbolic_shape=True)
        prepared_model = onnx.load(os.fspath(prepared))
        keep_float = float_nodes(prepared_model)
        if exclude:
            keep_float += [n.name for n in prepared_model.graph.node if n.name.startswith(tuple(exclude))]
        quantizable = sum(1 for n in prepared_model.graph.node
                          if n.name not in keep_float and n.op_type == "Conv")
        if quantizable == 0:
            raise QuantizeError("no Conv node found under the network scopes (/detector/model/...): "
                                "is this a yolact-export graph?")
        log(f"calibrating on {len(files)} images ({method}); {quantizable} convs to int8, "
            f"{len(keep_float)} nodes kept float")
        staged = Path(tmp) / "int8.onnx"
        weights = QuantType.QInt8 if weight_type == "int8" else QuantType.QUInt8
        with quiet_quantizer():
            quantize_static(
                os.fspath(prepared), os.fspath(staged), Reader(), quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(OP_TYPES), per_channel=per_channel, reduce_range=reduce_range,
                activation_type=QuantType.QUInt8, weight_type=weights, nodes_to_exclude=keep_float,
                calibrate_method=methods[method],
                extra_options={"ActivationSymmetric": False, "WeightSymmetric": weight_type == "int8"},
            )
        result = onnx.load(os.fspath(staged))
        del result.metadata_props[:]
        props = {prop.key: prop.value for prop in source.metadata_props}
        props |= {contract.KEY_CONTRACT_MINOR: str(contract.CONTRACT_MINOR), contract.KEY_PRECISION: "int8"}
        for key, value in props.items():
            result.metadata_props.add(key=key, value=value)
        result.metadata_props.add(key=contract.KEY_QUANTIZATION, value=json.dumps(
            {"format": "QDQ", "weights": weight_type, "per_channel": per_channel, "reduce_range": reduce_range,
             "activations": "uint8", "calibration": method, "calibration_images": len(files),
             "float_scopes": "everything outside " + ", ".join(NETWORK_SCOPES) + (
                 "; also " + ", ".join(exclude) if exclude else "")}))
        result.producer_name, result.producer_version = source.producer_name, source.producer_version
        with atomic_path(out) as final:
            onnx.save(result, os.fspath(final))
    log(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, int8)")
    return out
