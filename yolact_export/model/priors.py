"""Prior (anchor) boxes, laid out exactly as the original: rows, columns, scales, aspect ratios."""
from __future__ import annotations

import math

import torch


def make_priors(grid_sizes: list[tuple[int, int]], pred_scales, aspect_ratios,
                max_size: int, use_square_anchors: bool) -> torch.Tensor:
    """Returns [N, 4] priors as (cx, cy, w, h) relative to the input size."""
    rows = []
    for (gh, gw), scales in zip(grid_sizes, pred_scales):
        for j in range(gh):
            for i in range(gw):
                cx, cy = (i + 0.5) / gw, (j + 0.5) / gh
                for scale in scales:
                    for ar in aspect_ratios:
                        r = math.sqrt(ar)
                        w = scale * r / max_size
                        h = w if use_square_anchors else scale / r / max_size
                        rows.append((cx, cy, w, h))
    return torch.tensor(rows, dtype=torch.float32)


def grid_sizes_for(input_size: int, num_levels: int = 5) -> list[tuple[int, int]]:
    """FPN grid sizes for the P3..P7 levels, as conv arithmetic gives them (69, 35, 18, 9, 5 at 550)."""
    size = input_size
    for _ in range(3):  # stem conv, maxpool, then stage strides to C3 (stride 8)
        size = (size + 1) // 2
    sizes = []
    for _ in range(num_levels):
        sizes.append((size, size))
        size = (size + 1) // 2
    return sizes


def config_priors(config) -> torch.Tensor:
    """The [N, 4] priors of a YolactConfig at its input size (the model's, and the NMS bench's inputs)."""
    num_levels = len(config.selected_layers) + config.num_downsample
    return make_priors(grid_sizes_for(config.max_size, num_levels), config.pred_scales, config.aspect_ratios,
                       config.max_size, config.use_square_anchors)
