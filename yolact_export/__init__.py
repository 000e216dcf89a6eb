"""yolact_export: a faithful PyTorch YOLACT / YOLACT++ reference model and its ONNX exporter."""
from .detection.predict import Detections, predict
from .model.checkpoint import CheckpointError, load_checkpoint
from .model.config import PRESETS, YolactConfig, get_config
from .model.yolact import YolactNet, build_model

__version__ = "0.1.0"

__all__ = ["CheckpointError", "Detections", "PRESETS", "YolactConfig", "YolactNet", "build_model", "get_config",
           "load_checkpoint", "predict", "__version__"]

