"""`yolact_runtime.ray_engine`, the name the README gives the Ray engine: it lives in yolact_runtime.cluster."""
from .cluster.ray_engine import ModelSettings, RayEngine, RaySettings, RayUnavailable, YolactPredictor, import_ray

__all__ = ["ModelSettings", "RayEngine", "RaySettings", "RayUnavailable", "YolactPredictor", "import_ray"]
