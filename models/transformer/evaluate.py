"""Thresholds and metrics of the served transformer, computed as the baseline computes them.

Thresholds come from the validation period for the alert budgets; metrics are read on the
validation and test periods with ``models.evaluation`` (same names as the baseline's, so
``fraudstream model list`` and the CLI compare the two directly).
"""

from __future__ import annotations

import numpy as np

from models.evaluation import alert_rates, choose_thresholds, ranking_metrics
from models.manifest import Thresholds


def evaluate(
    fraud: np.ndarray,
    anomaly: np.ndarray,
    y: np.ndarray,
    types: np.ndarray,
    val: np.ndarray,
    test: np.ndarray,
    review_rate: float,
    block_rate: float,
) -> tuple[dict[str, Thresholds], dict[str, float]]:
    """(thresholds per event type, metrics); ``val``/``test`` are row indices into the
    score arrays."""
    thresholds = choose_thresholds(fraud[val], types[val], review_rate, block_rate)
    anomaly_metrics = ranking_metrics(y[test], anomaly[test])
    metrics = {
        **ranking_metrics(y[val], fraud[val], "val_"),
        **ranking_metrics(y[test], fraud[test], "test_"),
        **{
            f"test_anomaly_{name}": value
            for name, value in anomaly_metrics.items()
            if name in ("roc_auc", "average_precision")
        },
    }
    alerted, blocked = alert_rates(fraud[test], types[test], thresholds)
    metrics["test_review_rate"] = float(alerted.mean())
    metrics["test_block_rate"] = float(blocked.mean())
    test_frauds = y[test] == 1
    if test_frauds.any():
        metrics["test_recall_at_review"] = float(alerted[test_frauds].mean())
        metrics["test_recall_at_block"] = float(blocked[test_frauds].mean())
    return thresholds, metrics
