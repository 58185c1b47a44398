"""The baseline: gradient boosting on the event's token + IsolationForest, as one ONNX graph."""

from models.baseline.fit import fit_classifier, fit_forest
from models.baseline.onnx_export import baseline_onnx
from models.baseline.params import BaselineParams
from models.baseline.train import Progress, train_baseline

__all__ = [
    "BaselineParams",
    "Progress",
    "baseline_onnx",
    "fit_classifier",
    "fit_forest",
    "train_baseline",
]
