"""Ranking metrics of a fraud score, as a fraud team reads them: at a fixed alert budget."""

from __future__ import annotations

import logging
import math

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

log = logging.getLogger(__name__)

#: alert budgets at which recall is reported (fraction of events alerted)
ALERT_RATES: tuple[float, ...] = (0.005, 0.01)


def recall_at_alert_rate(y: np.ndarray, score: np.ndarray, rate: float) -> float:
    """Share of frauds among the top ``rate`` fraction of events by score."""
    frauds = int(y.sum())
    if frauds == 0:
        return math.nan
    k = max(1, math.ceil(rate * len(y)))
    top = np.argsort(-score, kind="stable")[:k]
    return float(y[top].sum()) / frauds


def rate_name(rate: float) -> str:
    return f"{rate * 100:g}pct"


def ranking_metrics(y: np.ndarray, score: np.ndarray, prefix: str = "") -> dict[str, float]:
    """AUC ROC, average precision and recall at each alert rate (undefined ones omitted)."""
    y = np.asarray(y, dtype=np.int8)
    out: dict[str, float] = {
        f"{prefix}events": float(len(y)),
        f"{prefix}frauds": float(y.sum()),
        f"{prefix}base_rate": float(y.mean()) if len(y) else 0.0,
    }
    if 0 < y.sum() < len(y):
        out[f"{prefix}roc_auc"] = float(roc_auc_score(y, score))
        out[f"{prefix}average_precision"] = float(average_precision_score(y, score))
        for rate in ALERT_RATES:
            out[f"{prefix}recall_at_{rate_name(rate)}"] = recall_at_alert_rate(y, score, rate)
    else:
        log.warning("metrics undefined: one class only prefix=%s events=%d", prefix, len(y))
    return out
