"""Mask assembly, crop padding rule, upsampling, box-to-pixel truncation and re-scoring."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from yolact_export.detection.masks import (assemble_masks, boxes_to_pixels, crop_masks,
                                 rescore_batched, upsample_masks)


def test_assemble_matches_definition():
    g = torch.Generator().manual_seed(0)
    p, c = torch.randn(2, 6, 5, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    out = assemble_masks(p, c)
    assert out.shape == (2, 3, 6, 5)
    want = torch.sigmoid(torch.einsum("bhwk,bnk->bnhw", p, c))
    assert torch.allclose(out, want, atol=1e-6)
    assert torch.allclose(assemble_masks(p[1], c[1]), out[1], atol=1e-6)  # unbatched form


def _expected_crop(box, h, w):
    """Loop form of the rule: keep column c when clamp(min*w - 1, 0) <= c < clamp(max*w + 1, w)."""
    def bounds(a, b, size):
        a, b = a * size, b * size
        return max(min(a, b) - 1, 0), min(max(a, b) + 1, size)
    (xl, xh), (yl, yh) = bounds(box[0], box[2], w), bounds(box[1], box[3], h)
    return torch.tensor([[float(xl <= c < xh and yl <= r < yh) for c in range(w)]
                         for r in range(h)])


BOXES = [
    [0.2, 0.25, 0.5, 0.75],    # cols 1..5, rows 1..6
    [0.5, 0.75, 0.2, 0.25],    # x1 > x2, y1 > y2: same as above
    [0.0, 0.0, 1.0, 1.0],      # touches every border: whole mask
    [0.23, 0.0, 0.51, 0.1],    # fractional: cols 2..6 (1.3 <= c < 6.1), rows 0..1
    [0.9, 0.9, 1.2, 1.3],      # beyond the bottom-right border
    [-0.5, 0.2, -0.2, 0.4],    # fully left of the image: empty
]


def test_crop_padding_rule():
    h, w = 8, 10
    boxes = torch.tensor(BOXES)
    masks = torch.full((len(BOXES), h, w), 0.75)
    out = crop_masks(masks, boxes)
    for i, box in enumerate(BOXES):
        assert torch.equal(out[i], 0.75 * _expected_crop(box, h, w)), i
    assert torch.equal(out[0], out[1]) and bool((out[2] == 0.75).all()) and not out[5].any()
    assert out[0].nonzero()[:, 1].unique().tolist() == [1, 2, 3, 4, 5]
    assert out[0].nonzero()[:, 0].unique().tolist() == [1, 2, 3, 4, 5, 6]
    assert out[3].nonzero()[:, 1].unique().tolist() == [2, 3, 4, 5, 6]
    # Batched [B, D, h, w] equals per-image.
    batched = crop_masks(masks.reshape(2, 3, h, w), boxes.reshape(2, 3, 4))
    assert torch.equal(batched.reshape(-1, h, w), out)


def test_upsample_threshold():
    m = torch.zeros(2, 4, 6)
    m[0, :, :3] = 1.0
    m[1] = 0.3
    up = upsample_masks(m, 20, 30)
    assert up.shape == (2, 20, 30) and up.dtype == torch.bool
    ref = F.interpolate(m[None], (20, 30), mode="bilinear", align_corners=False)[0] > 0.5
    assert torch.equal(up, ref) and not up[1].any()
    assert up[0, :, :14].all() and not up[0, :, 16:].any()
    assert upsample_masks(m.reshape(1, 2, 4, 6), 20, 30).shape == (1, 2, 20, 30)
    assert upsample_masks(torch.zeros(0, 4, 6), 20, 30).shape == (0, 20, 30)


def test_boxes_to_pixels_truncates_and_clamps():
    boxes = torch.tensor([[0.109, 0.2, 0.999, 0.5],     # 10.9 -> 10, 99.9 -> 99 (not rounded)
                          [0.5, 0.8, 0.25, 0.1],       # swapped corners are ordered
                          [-0.1, -0.2, 1.3, 1.1]])     # clamped to [0, W] / [0, H]
    px = boxes_to_pixels(boxes, width=100, height=50)
    assert px.dtype == torch.int64
    assert px.tolist() == [[10, 10, 99, 25], [25, 5, 50, 40], [0, 0, 100, 50]]


class _MaskIoU(torch.nn.Module):
    """Stand-in maskiou_net: [n, 1, h, w] -> [n, C-1]."""

    def __init__(self, n_fg: int = 3):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, n_fg, 3, stride=2)
        torch.nn.init.normal_(self.conv.weight, generator=torch.Generator().manual_seed(0))

    def forward(self, x):
        return torch.sigmoid(self.conv(x)).amax(dim=(2, 3))


def test_rescore_gathers_class_column():
    net = _MaskIoU().eval()
    g = torch.Generator().manual_seed(1)
    masks, classes = torch.rand(4, 9, 9, generator=g), torch.tensor([0, 2, 1, 2])
    scores = torch.tensor([0.9, 0.8, 0.5, 0.1])
    with torch.no_grad():
        iou = net(masks[:, None])
        batched = rescore_batched(net, masks.reshape(2, 2, 9, 9), classes.reshape(2, 2),
                                  scores.reshape(2, 2))
    assert torch.allclose(batched.reshape(-1), scores * iou[torch.arange(4), classes], atol=1e-7)


class _MaskHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.maskiou = _MaskIoU()

    def forward(self, proto, coef, boxes, classes, scores):
        masks = crop_masks(assemble_masks(proto, coef), boxes)
        return masks, rescore_batched(self.maskiou, masks, classes, scores)


def test_masks_in_graph_export(tmp_path):
    import onnxruntime as ort
    g = torch.Generator().manual_seed(2)

    def inputs(b):
        xy = torch.rand(b, 5, 2, generator=g)
        return (torch.randn(b, 12, 12, 4, generator=g), torch.randn(b, 5, 4, generator=g),
                torch.cat([xy, xy + 0.4 * torch.rand(b, 5, 2, generator=g)], -1),
                torch.randint(0, 3, (b, 5), generator=g), torch.rand(b, 5, generator=g))

    model, path = _MaskHead().eval(), tmp_path / "masks.onnx"
    names = ["proto", "coef", "boxes", "classes", "scores"]
    torch.onnx.export(model, inputs(2), str(path), dynamo=True, opset_version=17,
                      input_names=names, output_names=["masks", "mask_scores"],
                      dynamic_axes={k: {0: "B"} for k in names + ["masks", "mask_scores"]})
    x = inputs(3)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {k: v.numpy() for k, v in zip(names, x)})
    with torch.no_grad():
        want = model(*x)
    assert got[0].shape == (3, 5, 12, 12)
    np.testing.assert_allclose(got[0], want[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(got[1], want[1].numpy(), atol=1e-5)
