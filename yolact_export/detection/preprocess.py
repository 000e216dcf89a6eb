"""The original FastBaseTransform: BGR uint8 HxWx3 -> normalized RGB NCHW float at S x S."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..model.config import YolactConfig


def preprocess(images_bgr: list[np.ndarray] | np.ndarray, config: YolactConfig,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """float32 NCHW. dtype=torch.float64 computes the transform exactly before the cast: float32
    F.interpolate rounds its source coordinates (up to 1.3e-4 off after normalization)."""
    if isinstance(images_bgr, np.ndarray):
        images_bgr = [images_bgr]
    batch = []
    for image in images_bgr:
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 BGR image, got shape {image.shape}")
        x = torch.from_numpy(np.ascontiguousarray(image)).to(dtype).permute(2, 0, 1)[None]
        x = F.interpolate(x, (config.max_size, config.max_size), mode="bilinear", align_corners=False)
        if config.transform == "normalize":
            mean = torch.tensor(config.mean_bgr, dtype=dtype).view(1, 3, 1, 1)
            std = torch.tensor(config.std_bgr, dtype=dtype).view(1, 3, 1, 1)
            x = (x - mean) / std
        else:
            x = x / 255.0
        batch.append(x.flip(1))  # BGR -> RGB
    return torch.cat(batch).float()
