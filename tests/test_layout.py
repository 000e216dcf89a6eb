"""The state_dict of every preset equals the original layout, key for key, in order."""
import pytest
import torch

from yolact_export import PRESETS, build_model
from yolact_export.model.config import OFFICIAL_CONFIGS
from yolact_export.model.priors import grid_sizes_for

CONFIGS = OFFICIAL_CONFIGS  # the fixture holds these


@pytest.mark.parametrize("name", CONFIGS)
def test_state_dict_layout_matches_original(name, layouts):
    expected = [(k, list(s), d) for k, s, d in layouts[name]["state_dict"]]
    sd = build_model(name).state_dict()
    got = [(k, list(v.shape), str(v.dtype).replace("torch.", "")) for k, v in sd.items()]
    assert set(k for k, _, _ in got) == set(k for k, _, _ in expected)
    assert got == expected  # same shapes, dtypes and key order
    assert len(got) == layouts[name]["num_keys"]
    floats = sum(v.numel() for v in sd.values() if v.is_floating_point())
    assert floats == layouts[name]["num_float_elements"]


@pytest.mark.parametrize("name", CONFIGS)
def test_dcn_placement(name, layouts):
    sd = build_model(name).state_dict()
    dcn = sorted(k[: -len(".conv2.conv_offset_mask.weight")] for k in sd if k.endswith("conv_offset_mask.weight"))
    assert dcn == sorted(layouts[name]["dcn_keys"])


@pytest.mark.parametrize("name", CONFIGS)
def test_prior_count_and_grids(name, layouts):
    facts = layouts[name]["shapes_at_max_size"]
    cfg = PRESETS[name]
    assert [list(g) for g in grid_sizes_for(cfg.max_size)] == facts["pred_layer_grid_hw"]
    model = build_model(name)
    assert model.priors.shape == (facts["num_priors"], 4)
    assert cfg.num_priors_per_location == facts["priors_per_location"][0]


@pytest.mark.parametrize("name", ["yolact_im400", "yolact_resnet50"])
def test_forward_shapes_match_original(name, layouts):
    facts = layouts[name]["shapes_at_max_size"]
    cfg = PRESETS[name]
    model = build_model(name)
    with torch.no_grad():
        out = model(torch.zeros(1, 3, cfg.max_size, cfg.max_size))
    shapes = facts["head_output_shapes"]
    assert list(out.loc.shape) == shapes["loc"]
    assert list(out.conf.shape) == shapes["conf"]
    assert list(out.coeffs.shape) == shapes["mask"]
    assert list(out.proto.shape) == shapes["proto"]
    assert torch.allclose(out.conf.sum(-1), torch.ones(1, out.conf.shape[1]), atol=1e-5)


def test_prior_layout_v1_and_plus():
    v1 = build_model("yolact_resnet50").priors
    # First location of P3 (69x69 at 550): centre (0.5/69, 0.5/69); square anchors (h = w) with
    # w = 24 px * sqrt(ratio) for ratios [1, 1/2, 2].
    c = 0.5 / 69
    expected = torch.tensor([[c, c, w, w] for w in (24 / 550 * r ** 0.5 for r in (1, 0.5, 2))])
    assert torch.allclose(v1[:3], expected, atol=1e-7)
    # Second location moves along the row (x) first.
    assert torch.allclose(v1[3, :2], torch.tensor([1.5 / 69, c]), atol=1e-7)
    # Last prior: last cell of the 5x5 P7 grid, 384 px at ratio 2.
    w = 384 * 2 ** 0.5 / 550
    assert torch.allclose(v1[-1], torch.tensor([4.5 / 5, 4.5 / 5, w, w]), atol=1e-6)

    plus = build_model("yolact_plus_resnet50").priors
    # Per location: scales outer, aspect ratios [1, 1/2, 2] inner; w = s*sqrt(ar), h = s/sqrt(ar).
    s1 = 24 * 2 ** (1 / 3)
    ar = 0.5
    got = plus[4]  # scale index 1, ratio index 1
    assert torch.allclose(got[2:], torch.tensor([s1 * ar ** 0.5 / 550, s1 / ar ** 0.5 / 550]), atol=1e-7)
    assert plus.shape[0] == 57744


PHOTO_SHA256 = {  # the original repository's data/ images; the goldens were made on these bytes
    "yolact_example_0.png": "1c3b421f29b654ad1df294a5329beec5c06d69479c51db38fbd000ed71f3e413",
    "yolact_example_0_crop297x420.png": "4ce41ace5ee5dd335308ff46b22eddabb8d809983df53a974b6c930b621f783f",
    "yolact_example_1.png": "1cb5638bc87b9b80f0ae0e698f62eb327590538adbb5e5e59a8fc6b25f64f88d",
    "yolact_example_2.png": "08d18c02473888d18a1514f3934135b812ab1c8f0ae5671caaa959646bc1280d",
}


def test_test_photos_are_the_original_bytes(shared_images):
    import hashlib

    got = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in shared_images}
    assert got == PHOTO_SHA256
