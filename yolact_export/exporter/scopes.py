"""Where the network sits in an exported graph: what the --fp16 and --int8 converters convert."""
from __future__ import annotations

# Node-name prefixes of the network (backbone, FPN, protonet, prediction heads) in an exported graph:
# the traced module path detector.model.<part> (export.py, detector.py). Everything else (softmax,
# decoding, NMS, mask assembly and re-scoring) stays fp32 in the --fp16 and --int8 graphs.
NETWORK_SCOPES = tuple(f"/detector/model/{part}" for part in ("backbone/", "fpn/", "proto_net/", "prediction_layers."))
