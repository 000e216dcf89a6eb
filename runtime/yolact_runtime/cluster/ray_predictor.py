"""The per-actor side of `yolact-run --engine ray`: `YolactPredictor`, a Ray Data batch callable.

Each instance (one per actor) holds one ONNX Runtime session and runs the single-process pipeline
(`runner.Runner`) on the rows of a batch: the same decoding, preprocessing, inference,
postprocessing and output files as `yolact-run`. It does not import Ray: it also runs as a plain
callable, and inside an actor it only asks Ray which resources it was given.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from .. import Yolact
from ..contract import DEFAULT_SCORE_THRESHOLD, read_model_info
from ..core.engine import cpu_choice
from ..core.io import decode_image
from ..core.preprocess import as_bgr
from ..pipeline.discover import InputItem
from ..pipeline.job import NullReporter, RunOptions, Tally, pending
from ..pipeline.records import read_record
from ..pipeline.runner import Reader, Runner, read_file
from .remote import is_uri, local_model, read_uri


def _reader(sources: dict[InputItem, Any]) -> Reader:
    """Runner's reader for a batch: given bytes or arrays, URIs through pyarrow, else the file."""

    def read(item: InputItem) -> np.ndarray:
        source = sources.get(item)
        if source is None and not is_uri(item.path):
            return read_file(item)  # cv2's decoders on the file, as the single-process run
        if source is None:
            return decode_image(read_uri(os.fspath(item.path)), os.fspath(item.path))
        if isinstance(source, bytes):
            return decode_image(source, os.fspath(item.path))
        return as_bgr(source)

    return read


def _columns(batch: Any) -> dict[str, Any]:
    if isinstance(batch, Mapping):
        return dict(batch)
    if hasattr(batch, "columns") and hasattr(batch, "to_numpy"):  # pandas
        return {name: batch[name].to_numpy() for name in batch.columns}
    if hasattr(batch, "column_names"):  # pyarrow
        return {name: batch.column(name).to_numpy(zero_copy_only=False) for name in batch.column_names}
    raise TypeError(f"YolactPredictor: unsupported batch type {type(batch).__name__}")


def text(value: Any) -> str:
    """A string cell of a Ray Data batch (numpy object arrays may hold bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _in_ray_actor() -> dict[str, float] | None:
    """The resources Ray gave this process (None outside Ray)."""
    ray = sys.modules.get("ray")  # a Ray worker has imported it; elsewhere, do not import it for this
    try:
        if ray is None or not ray.is_initialized():
            return None
        return dict(ray.get_runtime_context().get_assigned_resources())
    except Exception:
        return None


class YolactPredictor:
    """Segment the rows of a Ray Data batch; one ONNX Runtime session per instance (per actor).

    >>> ds = ray.data.from_items([{"path": p} for p in paths])   # or read_binary_files(..., include_paths=True)
    >>> out = ds.map_batches(YolactPredictor, fn_constructor_kwargs={"model_path": "m.onnx", "out_dir": "/shared/out"},
    ...                      compute=ray.data.ActorPoolStrategy(size=4), batch_size=16, num_gpus=1)

    Input columns: `path` (local/shared path or URI, read with pyarrow.fs), or `bytes` (encoded image,
    `path` then only names it), or `image` (decoded uint8 RGB, as ray.data.read_images gives); `key`
    (the name in records, default: the file name of `path`); `name` (where its outputs go, default:
    the key without its extension; see pipeline/layout.py). Other columns pass through (not bytes/image).

    Output columns added: `key`, `status` ("ok" | "failed" | "skipped"), `error` (path: cause, or ""),
    and `record` (the image's detections as JSON: file_name, width, height, COCO detections with
    RLE masks) when return_records (default: when there is no out_dir).

    With out_dir, each image's outputs are written there exactly as by yolact-run: overlays/ (unless
    overlays=False), masks/ (save_masks=True), labels/ (save_txt=True), detections/<name>.json;
    resume=True skips images whose outputs are all there. providers "auto" uses the GPU only if Ray gave this actor one (else
    what auto takes on the CPU: OpenVINO or ONNX Runtime, core/plan.py); precision is OpenVINO's (see Yolact); threads
    (ONNX Runtime intra-op) defaults to the CPUs Ray gave the actor; classes keeps those class ids
    only; polygons writes COCO polygons instead of RLE (yolact-run's --classes, --polygons).
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        out_dir: str | os.PathLike[str] | None = None,
        providers: str = "auto",
        *,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        top_k: int | None = None,
        overlays: bool = True,
        save_masks: bool = False,
        batch_size: int = 1,
        threads: int | None = None,
        resume: bool = False,
        return_records: bool | None = None,
        io_threads: int = 2,
        precision: str = "default",
        classes: Sequence[int] | None = None,
        polygons: bool = False,
        save_txt: bool = False,
    ) -> None:
        assigned, model_path = _in_ray_actor(), local_model(model_path)
        if providers == "auto" and assigned is not None and not assigned.get("GPU"):
            # no GPU reserved for this actor: do not take one behind Ray's back
            providers = cpu_choice(read_model_info(model_path), precision)
        if threads is None and assigned is not None and assigned.get("CPU"):
            threads = max(1, int(assigned["CPU"]))
        self.model = Yolact(model_path, providers, score_threshold=score_threshold, top_k=top_k, classes=classes,
                            intra_op_threads=threads, spinning=False,  # a pipelined Runner, as yolact-run
                            precision=precision)
        self.write = out_dir is not None
        self.options = RunOptions(
            out_dir=Path(out_dir) if out_dir is not None else Path("."),
            save_masks=save_masks and self.write,
            overlays=overlays and self.write,
            batch_size=batch_size,
            resume=resume and self.write,
            workers=io_threads,
            polygons=polygons,
            save_txt=save_txt and self.write,
        )
        self.return_records = (not self.write) if return_records is None else return_records

    def __call__(self, batch: Any) -> dict[str, np.ndarray]:
        columns = _columns(batch)
        count = len(next(iter(columns.values()))) if columns else 0
        if count and "path" not in columns and "key" not in columns:
            raise ValueError("YolactPredictor needs a 'path' or a 'key' column")
        items: list[InputItem] = []
        sources: dict[InputItem, Any] = {}
        for row in range(count):
            path = text(columns["path"][row]) if "path" in columns else None
            key = text(columns["key"][row]) if "key" in columns else PurePosixPath(path.partition("?")[0]).name
            name = path if path is not None else key
            output = text(columns["name"][row]) if "name" in columns else ""
            item = InputItem(name if is_uri(name) else Path(name), key, "image", output)
            if "bytes" in columns:
                sources[item] = bytes(columns["bytes"][row])
            elif "image" in columns:
                image = np.asarray(columns["image"][row], dtype=np.uint8)
                sources[item] = image[..., ::-1].copy() if image.ndim == 3 and image.shape[2] == 3 else image
            items.append(item)
        tally = Tally(NullReporter())  # the messages go back in the rows
        kept: dict[InputItem, dict[str, Any]] = {}  # no output folder: the records are the output
        runner = Runner(self.model, self.options, tally, read=_reader(sources),
                        on_record=None if self.write else kept.__setitem__)
        todo = set(pending(items, runner.layout, self.options.resume))
        runner.run([item for item in items if item in todo])

        out = {name: value for name, value in columns.items() if name not in ("bytes", "image")}
        status, errors, records = [], [], []
        for item in items:
            message = tally.messages.get(item)
            status.append("skipped" if item not in todo else "failed" if message else "ok")
            errors.append(message or "")
            if self.return_records:
                record = kept.get(item) if not self.write else read_record(runner.layout.record_path(item))
                records.append("" if message or record is None else _dumps(record))
        out["key"] = np.array([item.key for item in items], dtype=object)
        out["status"] = np.array(status, dtype=object)
        out["error"] = np.array(errors, dtype=object)
        if self.return_records:
            out["record"] = np.array(records, dtype=object)
        return out


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))
