"""Retrain: gate new data, warm-start a challenger, compare it with the champion, promote."""

from models.retrain.config import (
    THRESHOLD_POLICIES,
    PromotionRule,
    RetrainConfig,
    TransformerWarmStart,
)
from models.retrain.exceptions import RetrainError
from models.retrain.rule import Check, Comparison, Decision, ModelMetrics, decide
from models.retrain.run import Outcome, RetrainResult, retrain
from models.retrain.warm import WARM_STARTS, WarmStart, train_challenger
from models.retrain.watch import WatchConfig, count_labels, watch

__all__ = [
    "THRESHOLD_POLICIES",
    "WARM_STARTS",
    "Check",
    "Comparison",
    "Decision",
    "ModelMetrics",
    "Outcome",
    "PromotionRule",
    "RetrainConfig",
    "RetrainError",
    "RetrainResult",
    "TransformerWarmStart",
    "WarmStart",
    "WatchConfig",
    "count_labels",
    "decide",
    "retrain",
    "train_challenger",
    "watch",
]
