"""Metrics and thresholds shared by every model kind."""

from models.evaluation.metrics import ALERT_RATES, ranking_metrics, recall_at_alert_rate
from models.evaluation.thresholds import (
    DEFAULT_BLOCK_RATE,
    DEFAULT_REVIEW_RATE,
    alert_rates,
    choose_thresholds,
    threshold_for_alert_rate,
)

__all__ = [
    "ALERT_RATES",
    "DEFAULT_BLOCK_RATE",
    "DEFAULT_REVIEW_RATE",
    "alert_rates",
    "choose_thresholds",
    "ranking_metrics",
    "recall_at_alert_rate",
    "threshold_for_alert_rate",
]
