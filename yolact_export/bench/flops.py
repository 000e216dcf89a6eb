"""How close each path runs to this CPU's own conv speed: network GFLOP and achieved GFLOP/s.

The network's work is counted on the PyTorch model (2 x multiply-accumulates of every
convolution, hooks on one forward pass); the rest of the graph (decoding, NMS, softmax) is
negligible next to it. Achieved rate = GFLOP / median inference time. The ceiling is the
conv micro-benchmark (kernels.conv_int8_vs_fp32): one large 3x3 conv in ORT, which is as fast
as ORT's convolution gets on this machine.
"""
from __future__ import annotations


def conv_gflop(model) -> float:
    """Convolution GFLOP (2 x MACs) of one image through `model` at its input size."""
    import torch

    total = 0

    def count(module: torch.nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * module.weight[0].numel()

    from ..model.dcn import ModulatedDeformConv2d

    convs = (torch.nn.Conv2d, ModulatedDeformConv2d)  # a deformable conv does a conv's MACs (+ sampling)
    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, convs)]
    try:
        size = model.config.max_size
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, size, size))
    finally:
        for hook in hooks:
            hook.remove()
    return 2 * total / 1e9


def conv_microbench_gflop(microbench: dict) -> float:
    """GFLOP of the micro-benchmark's conv, from its description ('3x3 C->C at SxS')."""
    kernel, channels, _at, size = microbench["conv"].split()[:4]
    k = int(kernel.split("x")[0])
    c_in, c_out = (int(v) for v in channels.split("->"))
    h, w = (int(v) for v in size.split("x"))
    return 2 * h * w * c_in * c_out * k * k / 1e9


def compute_rates(gflop: float, paths: dict, microbench: dict | None) -> dict:
    """Achieved GFLOP/s per measured path, and the share of the conv ceiling it reaches."""
    out: dict = {"network_gflop": round(gflop, 2), "paths": {}}
    ceiling = {}
    if microbench:
        conv = conv_microbench_gflop(microbench)
        ceiling = {"fp32": conv / microbench["fp32"]["median_ms"] * 1e3,
                   "int8": conv / microbench["int8"]["median_ms"] * 1e3}
        out["conv_ceiling_gflop_s"] = {k: round(v, 1) for k, v in ceiling.items()}
        out["fp32_floor_ms"] = round(gflop / ceiling["fp32"] * 1e3, 1)
        out["int8_floor_ms"] = round(gflop / ceiling["int8"] * 1e3, 1)
    for name, entry in paths.items():
        if entry.get("status") != "ok":
            continue
        rate = gflop / entry["stages"]["inference"]["median_ms"] * 1e3
        row = {"inference_gflop_s": round(rate, 1)}
        kind = "int8" if "int8" in name else "fp32" if name.endswith(("fp32", "fp16")) else None
        if kind in ceiling and entry.get("device", "cpu") == "cpu":
            row["share_of_conv_ceiling"] = round(rate / ceiling[kind], 3)
        out["paths"][name] = row
    return out


def compute_line(compute: dict) -> str:
    """One report line: network GFLOP, the conv ceiling and each path's achieved rate."""
    rates = ", ".join(f"{name} {row['inference_gflop_s']:.0f}"
                      + (f" ({100 * row['share_of_conv_ceiling']:.0f} %)" if "share_of_conv_ceiling" in row else "")
                      for name, row in compute["paths"].items())
    line = f"network {compute['network_gflop']:.1f} GFLOP/image; inference GFLOP/s: {rates}"
    if "conv_ceiling_gflop_s" in compute:
        c = compute["conv_ceiling_gflop_s"]
        line += (f"; conv ceiling fp32 {c['fp32']:.0f} / int8 {c['int8']:.0f} GOP/s -> floors "
                 f"{compute['fp32_floor_ms']:.0f} / {compute['int8_floor_ms']:.0f} ms")
    return line
