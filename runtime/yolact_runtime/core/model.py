"""Yolact: preprocess -> engine (ONNX Runtime or OpenVINO) -> postprocess, and nothing else."""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Union

import numpy as np

from .. import contract
from ..contract import ModelInfo, read_model_info
from ..errors import ModelError
from .engine import Engine, open_engine
from .io import read_image
from .options import EngineOptions
from .postprocess import MaskMode, PostprocessOptions, postprocess
from .preprocess import as_bgr, preprocess_batch, preprocess_image
from .raw import RawDetections, split_batch
from .result import Result

ImageInput = Union[np.ndarray, str, os.PathLike]  # a BGR uint8 array, or an image file to read


class Yolact:
    """A YOLACT / YOLACT++ model exported with yolact-export.

    >>> model = Yolact("yolact_base.onnx", providers="auto")
    >>> result = model("photo.jpg")                        # Result; or a BGR uint8 array
    >>> results = model.predict_batch(["a.jpg", frame])    # list[Result]

    score_threshold / top_k select detections (default: all valid rows, as COCO eval uses them);
    masks: "image" | "proto" | "rle" (Result.masks None; Result.rle() has them) | "none", classes: 0-based
    class ids to keep (see PostprocessOptions). spinning=False lets idle ONNX Runtime threads sleep: slower single calls, more CPU for your own threads (yolact-run).
    providers: "auto" | "tensorrt" | "cuda" | "openvino" | "cpu" (core/plan.py says which auto takes);
    precision (OpenVINO only): "default" (OpenVINO's choice, bf16 on AMX / AVX512-BF16 CPUs) or "f32"
    (exact). `providers` and `precision` then say what runs, read back from the engine.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        providers: str = "auto",
        *,
        score_threshold: float = 0.0,
        top_k: int | None = None,
        masks: MaskMode = "image",
        classes: Iterable[int] | None = None,
        intra_op_threads: int | None = None,
        inter_op_threads: int | None = None,
        spinning: bool = True,
        precision: str = "default",
    ) -> None:
        self.path = os.fspath(model)
        self.info: ModelInfo = read_model_info(self.path)  # fails fast, before any engine is built
        self.engine_options = EngineOptions(providers=providers, intra_op_threads=intra_op_threads,
                                            inter_op_threads=inter_op_threads, spinning=spinning, precision=precision)
        self.engine: Engine = open_engine(self.path, self.info, self.engine_options)
        self.options = PostprocessOptions(score_threshold=score_threshold, top_k=top_k, masks=masks,
                                          classes=None if classes is None else frozenset(classes))
        self.output_names = self._check_io()
        self.fixed_batch = self._fixed_batch()

    @property
    def providers(self) -> list[str]:
        """What started: onnxruntime's providers in order, or ["OpenVINO"]."""
        return list(self.engine.providers)

    @property
    def precision(self) -> str:
        """What the engine computes in (OpenVINO: read back from the compiled model)."""
        return self.engine.precision

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.info.class_names

    def __call__(self, image: ImageInput) -> Result:
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Sequence[ImageInput]) -> list[Result]:
        """Images as BGR uint8 arrays or file paths (read as yolact-run reads them: InputError
        naming the file and the cause for one that is missing, cut off or not an image)."""
        if isinstance(images, (str, os.PathLike)):
            raise TypeError("predict_batch takes a list of images or paths; for one, call the model")
        images = [as_bgr(_pixels(image)) for image in images]
        raws = self.infer(self.preprocess(images))
        return [self.postprocess(raw, image.shape[:2]) for raw, image in zip(raws, images)]

    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """BGR images -> float32 [B, 3, S, S]."""
        return preprocess_batch(images, self.info.preprocess, self.info.input_size)

    def preprocess_one(self, image: np.ndarray) -> np.ndarray:
        """One BGR image -> float32 [3, S, S] (for pipelines that batch themselves)."""
        return preprocess_image(image, self.info.preprocess, self.info.input_size)

    def infer(self, batch: np.ndarray) -> list[RawDetections]:
        """Run the graph on a preprocessed batch; a fixed-batch graph is fed in padded chunks."""
        step = self.fixed_batch or max(1, batch.shape[0])
        raws: list[RawDetections] = []
        for start in range(0, batch.shape[0], step):
            chunk = batch[start : start + step]
            size = chunk.shape[0]
            if size < step:
                pad = np.zeros((step - size, *chunk.shape[1:]), dtype=chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            arrays = self.engine.run(self.output_names, {contract.INPUT: chunk})
            raws.extend(split_batch(dict(zip(self.output_names, arrays)))[:size])
        return raws

    def postprocess(
        self, raw: RawDetections, image_size: tuple[int, int], options: PostprocessOptions | None = None
    ) -> Result:
        """Padded detections -> Result at image_size (height, width), with this model's options by default."""
        chosen = options or self.options
        return postprocess(raw, image_size, self.info.class_names, self.info.category_ids, chosen)

    def _check_io(self) -> list[str]:
        inputs = self.engine.input_names
        if inputs != [contract.INPUT]:
            raise ModelError(f"{self.path}: expected one input named '{contract.INPUT}', found {inputs}")
        available = self.engine.output_names
        missing = [n for n in contract.REQUIRED_OUTPUTS if n not in available]
        if missing:
            raise ModelError(f"{self.path}: the graph lacks required outputs {missing}")
        wanted = contract.REQUIRED_OUTPUTS + contract.OPTIONAL_OUTPUTS
        return [n for n in wanted if n in available]

    def _fixed_batch(self) -> int | None:
        shape = self.engine.input_shape
        if len(shape) != 4:
            raise ModelError(f"{self.path}: input '{contract.INPUT}' must be 4-D [B, 3, S, S], got {shape}")
        size = self.info.input_size
        for dim in shape[2:]:
            if isinstance(dim, int) and dim != size:
                raise ModelError(f"{self.path}: input is {shape[2:]} but metadata input_size is {size}")
        return shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None


def _pixels(image: ImageInput) -> np.ndarray:
    return read_image(image) if isinstance(image, (str, os.PathLike)) else image
