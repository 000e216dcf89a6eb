"""Fast NMS (fixed-shape) against brute-force references, edge cases, and ONNX traceability."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from yolact_export.detection.nms import fast_nms, traditional_nms
from yolact_export.detection.boxes import box_iou, decode_boxes

CONF, IOU, TOP_K, MAX_DET = 0.05, 0.5, 200, 100


def _iou_np(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    w = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = w * h
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(box) + area(others) - inter)


def _fast_suppress(boxes: np.ndarray, order: list[int], thr: float) -> list[int]:
    """Definition of Fast NMS: j is dropped if ANY higher-ranked box (kept or not) overlaps > thr."""
    kept = []
    for a, j in enumerate(order):
        if a == 0 or _iou_np(boxes[j], boxes[order[:a]]).max() <= thr:
            kept.append(j)
    return kept


def ref_fast_nms(boxes, scores, conf=CONF, thr=IOU, top_k=TOP_K, max_det=MAX_DET):
    """Filtered original semantics, one image. Returns [(score, class, prior)] sorted by score."""
    b, s = boxes.double().numpy(), scores.numpy()
    cand = [i for i in range(s.shape[0]) if s[i].max() > conf]
    entries = []
    for c in range(s.shape[1]):
        order = sorted(cand, key=lambda i: -s[i, c])[:top_k]
        entries += [(float(s[j, c]), c, j) for j in _fast_suppress(b, order, thr)]
    return sorted(entries, key=lambda e: -e[0])[:max_det]


def ref_cc_fast_nms(boxes, scores, conf=CONF, thr=IOU, top_k=TOP_K, max_det=MAX_DET):
    b, s = boxes.double().numpy(), scores.numpy()
    best, cls = s.max(1), s.argmax(1)
    order = sorted([i for i in range(len(best)) if best[i] > conf], key=lambda i: -best[i])
    kept = _fast_suppress(b, order[:top_k], thr)
    return sorted([(float(best[j]), int(cls[j]), j) for j in kept], key=lambda e: -e[0])[:max_det]


def _random_case(seed: int, n: int, n_fg: int, frac_cand: float):
    g = torch.Generator().manual_seed(seed)
    cxcy = torch.rand(n, 2, generator=g)
    wh = 0.05 + 0.35 * torch.rand(n, 2, generator=g)
    boxes = torch.cat([cxcy - wh / 2, cxcy + wh / 2], 1)
    logits = 2 * torch.randn(n, n_fg + 1, generator=g)
    # Priors outside the candidate fraction get a dominant background logit.
    logits[:, 0] += 20 * (torch.rand(n, generator=g) > frac_cand).float()
    return boxes, logits.softmax(-1)[:, 1:]


def _as_entries(res, b: int = 0):
    n = int(res.num_detections[b])
    return [(float(res.scores[b, i]), int(res.classes[b, i]), int(res.indices[b, i]))
            for i in range(n)]


def _check_padding_and_order(res, b: int = 0):
    n = int(res.num_detections[b])
    assert torch.all(res.scores[b, n:] == 0) and torch.all(res.boxes[b, n:] == 0)
    assert torch.all(res.classes[b, n:] == 0) and torch.all(res.indices[b, n:] == 0)
    assert torch.all(res.scores[b, 1:n] <= res.scores[b, : n - 1]) if n > 1 else True


def _assert_same(got, want, boxes=None, res=None):
    assert {(c, j) for _, c, j in got} == {(c, j) for _, c, j in want}
    ws = {(c, j): s for s, c, j in want}
    for s, c, j in got:
        assert abs(s - ws[(c, j)]) <= 1e-6
    if boxes is not None:  # boxes must be the prior's boxes
        idx = res.indices[0, : len(got)]
        assert torch.equal(res.boxes[0, : len(got)], boxes[idx])


@pytest.mark.parametrize("seed,frac", [(0, 0.3), (1, 0.3), (2, 0.95), (3, 0.95), (4, 0.6)])
def test_fast_nms_matches_reference(seed, frac):
    boxes, scores = _random_case(seed, n=300, n_fg=4, frac_cand=frac)
    res = fast_nms(boxes[None], scores[None], CONF, IOU, TOP_K, MAX_DET)
    want = ref_fast_nms(boxes, scores)
    n_cand = int((scores.max(1).values > CONF).sum())
    assert (n_cand < TOP_K) == (frac < 0.9)  # both regimes are exercised
    assert res.boxes.shape == (1, MAX_DET, 4) and res.classes.dtype == torch.int64
    _assert_same(_as_entries(res), want, boxes, res)
    _check_padding_and_order(res)


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_cross_class_matches_reference(seed):
    boxes, scores = _random_case(seed, n=300, n_fg=4, frac_cand=0.3 if seed % 2 else 0.95)
    res = fast_nms(boxes[None], scores[None], CONF, IOU, TOP_K, MAX_DET, cross_class=True)
    _assert_same(_as_entries(res), ref_cc_fast_nms(boxes, scores), boxes, res)
    _check_padding_and_order(res)


def _chain_case():
    # A suppresses B (IoU 7/13), B overlaps C (IoU 7/13), A and C overlap 4/16 only.
    boxes = torch.tensor([[0, 0, 10, 10], [3, 0, 13, 10], [6, 0, 16, 10]], dtype=torch.float32) / 20
    return boxes, torch.tensor([[0.9], [0.8], [0.7]])


def test_fast_vs_traditional_documented_difference():
    boxes, scores = _chain_case()
    fast = fast_nms(boxes[None], scores[None], CONF, IOU, TOP_K, MAX_DET)
    assert int(fast.num_detections[0]) == 1 and int(fast.indices[0, 0]) == 0  # C dropped
    _, t_scores, t_cls, t_idx = traditional_nms(boxes, scores, CONF, IOU, MAX_DET)
    assert t_idx.tolist() == [0, 2] and t_cls.tolist() == [0, 0]  # C kept
    assert torch.allclose(t_scores, torch.tensor([0.9, 0.7]))
    # The original's pixel-scaled (+1) variant agrees here.
    assert traditional_nms(boxes, scores, CONF, IOU, MAX_DET, legacy_pixel_scale=550)[3].tolist() \
        == [0, 2]


def test_zero_candidates():
    boxes, _ = _random_case(0, n=50, n_fg=3, frac_cand=1.0)
    scores = torch.full((2, 50, 3), 0.01)
    res = fast_nms(boxes[None].expand(2, -1, -1), scores, CONF, IOU, TOP_K, MAX_DET)
    assert res.num_detections.tolist() == [0, 0]
    for t in (res.boxes, res.scores, res.classes, res.indices):
        assert not t.any()
    assert traditional_nms(boxes, scores[0], CONF, IOU, MAX_DET)[3].numel() == 0


def test_fewer_priors_than_top_k_pads_to_d():
    boxes, scores = _random_case(8, n=10, n_fg=2, frac_cand=0.7)  # C' * k = 20 < D
    res = fast_nms(boxes[None], scores[None], CONF, IOU, TOP_K, MAX_DET)
    assert res.scores.shape == (1, MAX_DET) and res.indices.shape == (1, MAX_DET)
    _assert_same(_as_entries(res), ref_fast_nms(boxes, scores), boxes, res)
    _check_padding_and_order(res)


def test_caps_at_max_detections():
    # 15 x 15 disjoint boxes, all candidates with distinct scores: 225 survive NMS.
    g = torch.arange(15, dtype=torch.float32) / 15
    y, x = torch.meshgrid(g, g, indexing="ij")
    boxes = torch.stack([x, y, x + 0.05, y + 0.05], -1).reshape(-1, 4)
    scores = torch.linspace(0.1, 0.9, 225)[torch.randperm(225, generator=torch.Generator().manual_seed(0))]
    res = fast_nms(boxes[None], scores[None, :, None], CONF, IOU, TOP_K, MAX_DET)
    assert int(res.num_detections[0]) == MAX_DET
    # top_k = 200 per class first, then the best 100 of those.
    assert torch.equal(res.scores[0], scores.sort(descending=True).values[:MAX_DET])


def test_ties_identical_boxes_and_scores():
    boxes = torch.tensor([[0.1, 0.1, 0.4, 0.4]] * 5 + [[0.6, 0.6, 0.9, 0.9]] * 3)
    scores = torch.full((8, 1), 0.5)
    runs = [fast_nms(boxes[None], scores[None], CONF, IOU, TOP_K, MAX_DET) for _ in range(3)]
    assert runs[0].num_detections.tolist() == [2]  # duplicates suppressed: one per location
    kept = runs[0].indices[0, :2].tolist()
    assert sorted(i < 5 for i in kept) == [False, True]
    for r in runs[1:]:
        assert all(torch.equal(a, b) for a, b in zip(r, runs[0]))
    assert traditional_nms(boxes, scores, CONF, IOU, MAX_DET)[3].numel() == 2


def test_batch_equals_single_images():
    b0, s0 = _random_case(10, n=120, n_fg=3, frac_cand=0.5)
    b1, s1 = _random_case(11, n=120, n_fg=3, frac_cand=0.05)
    for cc in (False, True):
        both = fast_nms(torch.stack([b0, b1]), torch.stack([s0, s1]), CONF, IOU, TOP_K, MAX_DET, cc)
        for i, (b, s) in enumerate([(b0, s0), (b1, s1)]):
            one = fast_nms(b[None], s[None], CONF, IOU, TOP_K, MAX_DET, cc)
            for x, y in zip(both, one):
                assert torch.equal(x[i], y[0])


def test_decode_and_iou():
    priors = torch.tensor([[0.5, 0.5, 0.2, 0.4]])
    loc = torch.tensor([[[1.0, -1.0, 0.0, 0.5]]])
    out = decode_boxes(loc, priors)[0, 0]
    w, h = 0.2, 0.4 * np.exp(0.1)
    cx, cy = 0.5 + 0.1 * 0.2, 0.5 - 0.1 * 0.4
    assert torch.allclose(out, torch.tensor([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2],
                                            dtype=torch.float32), atol=1e-7)
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0]])
    iou = box_iou(a, b)
    assert iou.shape == (2, 1) and torch.allclose(iou[:, 0], torch.tensor([1 / 7, 0.0]))
    assert box_iou(a[None].expand(3, -1, -1), a[None].expand(3, -1, -1)).shape == (3, 2, 2)


class _Head(torch.nn.Module):
    def __init__(self, priors: torch.Tensor):
        super().__init__()
        self.register_buffer("priors", priors)

    def forward(self, loc, conf):
        boxes = decode_boxes(loc, self.priors)
        return tuple(fast_nms(boxes, conf.softmax(-1)[..., 1:], CONF, IOU, 50, 20))


@pytest.mark.parametrize("n", [120, 6])  # 6 priors: C' * k < D, the zero-padding path
def test_onnx_export_matches_eager(tmp_path, n):
    import onnx
    import onnxruntime as ort
    g = torch.Generator().manual_seed(0)
    c = 4
    priors = torch.cat([torch.rand(n, 2, generator=g), 0.1 + 0.3 * torch.rand(n, 2, generator=g)], 1)
    loc, conf = torch.randn(2, n, 4, generator=g), 3 * torch.randn(2, n, c, generator=g)
    model, path = _Head(priors).eval(), tmp_path / "nms.onnx"
    names = ["boxes", "scores", "classes", "indices", "num_detections"]
    torch.onnx.export(model, (loc, conf), str(path), dynamo=False, opset_version=17,
                      input_names=["loc", "conf"], output_names=names,
                      dynamic_axes={k: {0: "B"} for k in ["loc", "conf"] + names})
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"TopK", "Trilu"} <= ops and not ops & {"NonMaxSuppression", "Loop", "If"}

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    loc3, conf3 = torch.randn(3, n, 4, generator=g), 3 * torch.randn(3, n, c, generator=g)
    got = sess.run(None, {"loc": loc3.numpy(), "conf": conf3.numpy()})  # batch 3 != traced 2
    with torch.no_grad():
        want = model(loc3, conf3)
    assert got[0].shape == (3, 20, 4)
    np.testing.assert_array_equal(got[4], want[4].numpy())
    assert want[4].min() > 0
    for b in range(3):
        k = int(want[4][b])
        assert {(int(c), int(i)) for c, i in zip(got[2][b, :k], got[3][b, :k])} == \
            {(int(c), int(i)) for c, i in zip(want[2][b, :k], want[3][b, :k])}
        np.testing.assert_allclose(got[1][b], want[1][b].numpy(), atol=1e-6)
        np.testing.assert_allclose(got[0][b], want[0][b].numpy(), atol=1e-5)


def test_dynamo_export_matches_eager(tmp_path):
    import onnxscript  # noqa: F401  (the dynamo exporter needs it; part of the export extra)
    import onnxruntime as ort
    g = torch.Generator().manual_seed(1)
    n, c = 60, 3
    priors = torch.cat([torch.rand(n, 2, generator=g), 0.1 + 0.3 * torch.rand(n, 2, generator=g)], 1)
    loc, conf = torch.randn(2, n, 4, generator=g), 3 * torch.randn(2, n, c, generator=g)
    model, path = _Head(priors).eval(), tmp_path / "nms_dynamo.onnx"
    batch = torch.export.Dim("B")
    torch.onnx.export(model, (loc, conf), str(path), dynamo=True, opset_version=18,
                      input_names=["loc", "conf"], dynamic_shapes=({0: batch}, {0: batch}),
                      verbose=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    loc3, conf3 = torch.randn(3, n, 4, generator=g), 3 * torch.randn(3, n, c, generator=g)
    got = sess.run(None, {"loc": loc3.numpy(), "conf": conf3.numpy()})
    with torch.no_grad():
        want = model(loc3, conf3)
    for a, b in zip(got, want):  # random data: no ties, so rows line up exactly
        np.testing.assert_allclose(a, b.numpy(), atol=1e-5)


class _NmsOnly(torch.nn.Module):
    def __init__(self, cross_class: bool):
        super().__init__()
        self.cross_class = cross_class

    def forward(self, boxes, scores):
        return tuple(fast_nms(boxes, scores, CONF, IOU, TOP_K, 10, self.cross_class))


def _boundary_case() -> tuple[torch.Tensor, torch.Tensor]:
    """IoUs exactly 0.5 (kept: the original keeps iou_max <= thr) and 0.75 (dropped); a prior whose
    best score is exactly float32(0.05) (not a candidate: the original needs score > conf_thresh)
    and one a float32 ulp above it (a candidate)."""
    boxes = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 0.5], [0, 0, 1, 0.75], [0, 0, 1, 0.25],
                          [2, 2, 3, 3], [4, 4, 5, 5]], dtype=torch.float32)
    at = torch.tensor(CONF, dtype=torch.float32)
    above = torch.nextafter(at, torch.tensor(1.0))
    best = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.0, 0.0])
    best[4], best[5] = at, above
    return boxes[None], best[:, None][None]  # one class: [1, N, 1]


@pytest.mark.parametrize("cross_class", [False, True])
@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_nms_boundaries_follow_the_original(tmp_path, cross_class, engine):
    boxes, scores = _boundary_case()
    module = _NmsOnly(cross_class).eval()
    if engine == "torch":
        with torch.no_grad():
            out = [t.numpy() for t in module(boxes, scores)]
    else:
        import onnxruntime as ort

        path = tmp_path / "boundary.onnx"
        torch.onnx.export(module, (boxes, scores), str(path), dynamo=True, opset_version=17,
                          input_names=["boxes", "scores"])
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        out = session.run(None, {"boxes": boxes.numpy(), "scores": scores.numpy()})
    n = int(out[4][0])
    # Kept: 0 (best), 1 (IoU with 0 exactly 0.5), 3 (IoU 0.25 with 0, exactly 0.5 with 1), 5 (above
    # the threshold by an ulp). Dropped: 2 (IoU 0.75 with 0), 4 (score exactly at the threshold).
    assert out[3][0, :n].tolist() == [0, 1, 3, 5]
    assert out[1][0, n - 1] == np.nextafter(np.float32(CONF), np.float32(1))
    assert ref_fast_nms(boxes[0], scores[0], max_det=10) == [
        (float(s), 0, int(i)) for s, i in zip(out[1][0, :n], out[3][0, :n])]
