"""Serving: the Scorer interface, the ONNX Runtime scorer and the decision rule."""

from models.serving.decide import decide
from models.serving.inputs import FEATURE_NAMES, last_token_features
from models.serving.onnx_scorer import OnnxScorer
from models.serving.protocol import Scorer

__all__ = ["FEATURE_NAMES", "OnnxScorer", "Scorer", "decide", "last_token_features"]
