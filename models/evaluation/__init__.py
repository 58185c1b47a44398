"""Metrics, thresholds, offline scoring and the evaluation harness shared by every model kind.

The harness, the fresh baselines and the report (``models.evaluation.harness``,
``.baselines``, ``.report``, ``.plots``) are imported by module path: they build on
``models.baseline``, which itself uses the metrics and thresholds exported here.
"""

from models.evaluation.accounts import (
    DEFAULT_TOP_ACCOUNTS,
    DailyAccountPrecision,
    daily_account_precision,
)
from models.evaluation.exceptions import EvaluationError
from models.evaluation.latency import Latency, LatencyParams, measure_latency
from models.evaluation.metrics import ALERT_RATES, ranking_metrics, recall_at_alert_rate
from models.evaluation.offline import OfflineScores, decisions_for, score_log, score_rows
from models.evaluation.scenarios import ScenarioRecall, scenario_recall
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
    "DEFAULT_TOP_ACCOUNTS",
    "DailyAccountPrecision",
    "EvaluationError",
    "Latency",
    "LatencyParams",
    "OfflineScores",
    "ScenarioRecall",
    "alert_rates",
    "choose_thresholds",
    "daily_account_precision",
    "decisions_for",
    "measure_latency",
    "ranking_metrics",
    "recall_at_alert_rate",
    "scenario_recall",
    "score_log",
    "score_rows",
    "threshold_for_alert_rate",
]
