"""The exporters yolact-export offers, default first (torch-free: the CLI's --help imports it)."""
from __future__ import annotations

# dynamo: torch.onnx's torch.export-based exporter (dynamo.py); torchscript: its legacy tracer,
# deprecated upstream since torch 2.9, kept until it is removed there.
EXPORTERS = ("dynamo", "torchscript")
DEFAULT_EXPORTER = EXPORTERS[0]
