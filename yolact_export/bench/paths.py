"""The measured paths: one engine each, the same yolact_runtime pre- and postprocessing around it.

A path turns a preprocessed batch into RawDetections (the ONNX contract's outputs, one image
each). The PyTorch paths run YolactDetector, the module the exporter traces, so they compute the
same outputs as the graph; the ONNX paths run the exported graph through yolact_runtime.Yolact.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from yolact_runtime.parity.match import box_iou, match_overlapping
from yolact_runtime.metadata import ModelInfo
from yolact_runtime.postprocess import PostprocessOptions, postprocess
from yolact_runtime.preprocess import preprocess_batch
from yolact_runtime.raw import RawDetections, split_batch
from yolact_runtime.result import Result

from .stats import StageClock, summarize

STAGES = ("preprocess", "inference", "postprocess")


class SkipPath(RuntimeError):
    """This path cannot run here (missing provider, unsupported op): reported, not fatal."""


class EnginePath:
    name: str = ""
    device: str = "cpu"
    note: str = ""

    def __init__(self, info: ModelInfo, options: PostprocessOptions) -> None:
        self.info = info
        self.options = options

    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return preprocess_batch(images, self.info.preprocess, self.info.input_size)

    def infer(self, batch: np.ndarray) -> list[RawDetections]:
        raise NotImplementedError

    def postprocess(self, raw: RawDetections, image_size: tuple[int, int]) -> Result:
        return postprocess(raw, image_size, self.info.class_names, self.info.category_ids, self.options)

    def close(self) -> None:
        pass


class OrtPath(EnginePath):
    """An exported graph through yolact_runtime.Yolact (its session and provider selection)."""

    def __init__(self, name: str, model_path, providers: str, threads: int | None,
                 options: PostprocessOptions, note: str = "", precision: str = "default") -> None:
        from yolact_runtime import Yolact
        from yolact_runtime.errors import YolactRuntimeError

        try:
            self.model = Yolact(model_path, providers, intra_op_threads=threads, precision=precision)
        except YolactRuntimeError as error:
            raise SkipPath(str(error)) from None
        wanted = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
                  "tensorrt": "TensorrtExecutionProvider", "openvino": "OpenVINOExecutionProvider"}[providers]
        got = self.model.providers[0] if self.model.providers else "none"
        if got != wanted:
            raise SkipPath(f"{wanted} did not start (onnxruntime fell back to {got})")
        super().__init__(self.model.info, options)
        self.name, self.note = name, note
        self.device = providers
        self.provider = got

    def infer(self, batch: np.ndarray) -> list[RawDetections]:
        return self.model.infer(batch)

    def close(self) -> None:
        del self.model


class _Autocast:
    """The network under torch.autocast, its outputs back in float32 (decode and NMS stay fp32)."""

    def __init__(self, model, dtype) -> None:
        self.model, self.dtype = model, dtype

    def __call__(self, images):
        import torch

        with torch.autocast("cpu", dtype=self.dtype):
            raw = self.model(images)
        return dataclasses.replace(raw, **{f.name: getattr(raw, f.name).float() for f in dataclasses.fields(raw)
                                         if getattr(raw, f.name) is not None})


class TorchPath(EnginePath):
    """YolactDetector in PyTorch eager on the CPU, fp32 or with bf16 autocast of the network."""

    def __init__(self, name: str, model, info: ModelInfo, nms, masks_in_graph: bool, threads: int | None,
                 options: PostprocessOptions, autocast: str | None = None, note: str = "") -> None:
        import torch
        from torch import nn

        from ..detector import YolactDetector

        super().__init__(info, options)
        self.name, self.note = name, note
        if threads:
            torch.set_num_threads(threads)
        self.detector = YolactDetector(model.eval(), nms, masks_in_graph).eval()
        self.output_names = self.detector.output_names
        if autocast is not None:
            dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[autocast]
            inner = model

            class Wrapped(nn.Module):  # what YolactDetector needs of the model, network autocast
                def __init__(self) -> None:
                    super().__init__()
                    self.inner = inner
                    self.config, self.priors = inner.config, inner.priors
                    self.maskiou_net = getattr(inner, "maskiou_net", None)
                    self.run = _Autocast(inner, dtype)

                def forward(self, images):
                    return self.run(images)

            self.detector = YolactDetector(Wrapped().eval(), nms, masks_in_graph).eval()

    def infer(self, batch: np.ndarray) -> list[RawDetections]:
        import torch

        with torch.inference_mode():
            out = self.detector(torch.from_numpy(batch))
        return split_batch({name: out[name].numpy() for name in self.output_names})

    def close(self) -> None:
        del self.detector


# ---------------------------------------------------------------------------------------------
@dataclass
class PathResult:
    name: str
    device: str
    status: str = "ok"  # ok | skipped | failed
    note: str = ""
    total: dict | None = None
    stages: dict[str, dict] = field(default_factory=dict)
    stage_share: dict[str, float] = field(default_factory=dict)
    detections_mean: float | None = None
    first_raws: list[RawDetections] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        out = {"device": self.device, "status": self.status}
        if self.note:
            out["note"] = self.note
        if self.total is not None:
            out.update(total=self.total, stages=self.stages, stage_share=self.stage_share,
                       detections_mean=self.detections_mean)
        return out


class _Recorder:
    """One path's runs: run i takes images[i*batch ...] (cycling); stage times summed over the batch."""

    def __init__(self, path: EnginePath, images: Sequence[np.ndarray], batch: int) -> None:
        self.path, self.images, self.batch = path, images, batch
        self.totals: list[float] = []
        self.per_stage: dict[str, list[float]] = {s: [] for s in STAGES}
        self.counts: list[int] = []
        self.first: dict[int, RawDetections] = {}
        self.calls = 0

    def one(self, record: bool) -> float:
        i, self.calls = self.calls, self.calls + 1
        picks = [(i * self.batch + j) % len(self.images) for j in range(self.batch)]
        chosen = [self.images[p] for p in picks]
        path, clock = self.path, StageClock()
        with clock.stage("preprocess"):
            tensor = path.preprocess(chosen)
        with clock.stage("inference"):
            raws = path.infer(tensor)
        with clock.stage("postprocess"):
            results = [path.postprocess(raw, image.shape[:2]) for raw, image in zip(raws, chosen)]
        total = sum(clock.seconds.values())
        if record:
            self.totals.append(total)
            for stage in STAGES:
                self.per_stage[stage].append(clock.seconds[stage])
            self.counts.extend(len(r) for r in results)
        for p, raw in zip(picks, raws):
            self.first.setdefault(p, raw)
        return total

    def result(self) -> PathResult:
        medians = {s: float(np.median(v)) for s, v in self.per_stage.items()}
        whole = sum(medians.values()) or 1.0
        return PathResult(
            name=self.path.name, device=self.path.device, note=self.path.note,
            total=summarize(self.totals, self.batch).to_dict(),
            stages={s: summarize(v, self.batch).to_dict() for s, v in self.per_stage.items()},
            stage_share={s: round(m / whole, 4) for s, m in medians.items()},
            detections_mean=float(np.mean(self.counts)) if self.counts else 0.0,
            first_raws=[self.first[k] for k in sorted(self.first)],
        )


def measure(path: EnginePath, images: Sequence[np.ndarray], runs: int, warmup: int, batch: int = 1,
            budget_s: float | None = None) -> PathResult:
    """`warmup` untimed runs, then `runs` timed ones, of one path.

    budget_s: when the first warm-up run shows that warm-up and runs would take longer, the rest
    of the warm-up is skipped and only the runs that fit are made (at least 1), so that a very slow
    path (bf16 on a CPU without oneDNN bf16: naive convolutions) does not stall the bench.
    """
    recorder = _Recorder(path, images, batch)
    if warmup:
        first_s = recorder.one(record=False)
        if budget_s and first_s * (warmup + runs) > budget_s:
            # Too slow for the budget: no more warm-up; as many runs as fit, at least 1.
            runs = max(1, min(runs, int(budget_s / max(first_s, 1e-9))))
        else:
            for _ in range(1, warmup):
                recorder.one(record=False)
    for _ in range(runs):
        recorder.one(record=True)
    return recorder.result()


SETTLE_S = 0.25  # idle time before each timed run of another path: lets the previous engine's threads park


def measure_interleaved(paths: Sequence[EnginePath], images: Sequence[np.ndarray], runs: int, warmup: int,
                        batch: int = 1, settle_s: float = SETTLE_S) -> list[PathResult]:
    """All paths in rounds (one run each per round, the order rotating), so that background load
    and frequency changes fall on every path alike and the ratios stay fair on a busy machine.

    Engines keep their worker threads spinning for a while after a run (onnxruntime's intra-op
    pool, torch's OpenMP team); without the settle pause the next path's threads compete with
    them (measured: PyTorch 2x slower right after an onnxruntime run on 2 cores).
    """
    recorders = [_Recorder(p, images, batch) for p in paths]
    for _ in range(warmup):
        for recorder in recorders:
            recorder.one(record=False)
    for i in range(runs):
        k = i % len(recorders)
        for recorder in recorders[k:] + recorders[:k]:
            if settle_s and len(recorders) > 1:
                time.sleep(settle_s)
            recorder.one(record=True)
    return [r.result() for r in recorders]


# ---------------------------------------------------------------------------------------------
def _proto_masks(raw: RawDetections, rows: np.ndarray) -> np.ndarray:
    """Binary masks (> 0.5) at prototype resolution for the given rows, as the contract assembles them."""
    from yolact_runtime.postprocess import assemble_masks

    if raw.masks is not None:
        return raw.masks[rows] > 0.5
    return assemble_masks(raw.prototypes, raw.coefficients[rows], raw.boxes[rows]) > 0.5


def top_agreement(reference: Sequence[RawDetections], other: Sequence[RawDetections], top: int = 10,
                  iou: float = 0.8) -> dict:
    """Share of the reference's top detections that `other` also finds (same class, box IoU >= iou,
    each of other's rows paired once: yolact_runtime.parity's matching).

    The candidate set is all of other's valid rows (not only its top ones): near-tied scores may
    reorder, which is not an accuracy loss. mask_iou_mean: mean IoU of the binary prototype-
    resolution masks of the matched pairs.
    """
    matched = total = 0
    ious: list[float] = []
    mask_ious: list[float] = []
    for ref, oth in zip(reference, other):
        n_ref, n_oth = min(ref.count, top), oth.count
        if n_ref == 0:
            continue
        overlap = box_iou(ref.boxes[:n_ref], oth.boxes[:n_oth]) if n_oth else np.zeros((n_ref, 0))
        same = ref.classes[:n_ref, None] == oth.classes[None, :n_oth]
        best = np.where(same, overlap, 0.0).max(axis=1) if n_oth else np.zeros(n_ref)
        pairs = match_overlapping(ref.classes, ref.boxes, oth.classes, oth.boxes, list(range(n_ref)),
                                  list(range(n_oth)), min_iou=iou)
        matched += len(pairs)
        total += n_ref
        ious.extend(best.tolist())
        if pairs:
            a = _proto_masks(ref, np.array([i for i, _ in pairs]))
            b = _proto_masks(oth, np.array([j for _, j in pairs]))
            inter = (a & b).sum(axis=(1, 2))
            union = (a | b).sum(axis=(1, 2))
            mask_ious.extend(np.where(union > 0, inter / np.maximum(union, 1), 1.0).tolist())
    return {"top": top, "iou": iou, "matched": matched, "of": total,
            "fraction": round(matched / total, 4) if total else None,
            "mean_best_iou": round(float(np.mean(ious)), 4) if ious else None,
            "mask_iou_mean": round(float(np.mean(mask_ious)), 4) if mask_ious else None}
