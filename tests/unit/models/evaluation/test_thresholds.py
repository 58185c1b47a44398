"""Thresholds for alert budgets, and recall at a budget."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluation import (
    alert_rates,
    choose_thresholds,
    ranking_metrics,
    recall_at_alert_rate,
    threshold_for_alert_rate,
)
from models.manifest import Thresholds


def test_threshold_alerts_exactly_the_budget_without_ties() -> None:
    scores = np.linspace(0, 1, 1000)
    cut = threshold_for_alert_rate(scores, 0.01)
    assert (scores >= cut).sum() == 10


def test_ties_at_the_budget_edge_stay_below_the_threshold() -> None:
    scores = np.array([0.9] * 5 + [0.5] * 95 + [0.1] * 900, dtype=np.float32)
    cut = threshold_for_alert_rate(scores, 0.01)  # 10 alerts would split the 0.5 run
    assert (scores >= cut).sum() == 5
    assert threshold_for_alert_rate(scores, 0.005) == pytest.approx(0.9)


def test_budget_under_one_event_alerts_nothing_seen() -> None:
    scores = np.array([0.2, 0.4, 0.3])
    cut = threshold_for_alert_rate(scores, 0.01)
    assert cut > 0.4 and (scores >= cut).sum() == 0


def test_thresholds_per_event_type_with_fallback() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(2000)
    types = np.array(["transaction"] * 1000 + ["other"] * 1000)
    scores[1000:] /= 10  # the other type scores low
    result = choose_thresholds(scores, types, review_rate=0.01, block_rate=0.002)
    tx = result["transaction"]
    assert (scores[:1000] >= tx.review).sum() == 10 and (scores[:1000] >= tx.block).sum() == 2
    login = result["login"]  # no logins: thresholds of all events
    assert (scores >= login.review).sum() == 20


def test_an_event_is_cut_at_its_channels_thresholds_where_the_model_has_them() -> None:
    table = {
        "transaction": Thresholds(review=0.5, block=0.9),
        "transaction/transfer": Thresholds(review=0.2, block=0.3),
        "login": Thresholds(review=0.1, block=0.2),
    }
    scores = np.array([0.3, 0.3, 0.3, 0.3])
    types = np.array(["transaction", "transaction", "transaction", "login"], dtype=object)
    channels = np.array(["transfer", "pos", None, None], dtype=object)
    alerted, blocked = alert_rates(scores, types, table, channels)
    assert alerted.tolist() == [True, False, False, True]
    assert blocked.tolist() == [True, False, False, True]
    alerted, _ = alert_rates(scores, types, table)  # without channels: the types' cut-offs
    assert alerted.tolist() == [False, False, False, True]


def test_recall_and_ranking_metrics() -> None:
    y = np.zeros(1000, dtype=np.int8)
    y[:10] = 1
    score = np.linspace(1, 0, 1000)  # frauds ranked first
    assert recall_at_alert_rate(y, score, 0.005) == 0.5
    assert recall_at_alert_rate(y, score, 0.01) == 1.0
    metrics = ranking_metrics(y, score, "test_")
    assert metrics["test_roc_auc"] == 1.0 and metrics["test_average_precision"] == 1.0
    assert metrics["test_base_rate"] == 0.01 and metrics["test_recall_at_0.5pct"] == 0.5
    only_genuine = ranking_metrics(np.zeros(5), np.arange(5.0))
    assert "roc_auc" not in only_genuine and only_genuine["frauds"] == 0
    assert math.isnan(recall_at_alert_rate(np.zeros(5), np.arange(5.0), 0.1))
