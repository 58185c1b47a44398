"""Recall per fraud scenario at a threshold, and recall at an alert rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluation import recall_at_alert_rate, scenario_recall, threshold_for_alert_rate
from models.evaluation.scenarios import NO_SCENARIO


def test_recall_per_scenario_counts_frauds_at_or_above_the_threshold() -> None:
    y = np.array([1, 1, 1, 1, 1, 0, 0])
    score = np.array([0.9, 0.5, 0.49, 0.8, 0.1, 0.99, 0.2])
    scenarios = np.array(
        ["card_testing", "card_testing", "card_testing", "takeover", "takeover", None, None],
        dtype=object,
    )
    result = scenario_recall(y, score, scenarios, threshold=0.5)
    assert list(result) == ["card_testing", "takeover"]
    assert (result["card_testing"].frauds, result["card_testing"].caught) == (3, 2)
    assert result["card_testing"].recall == pytest.approx(2 / 3)
    assert result["takeover"].recall == 0.5


def test_frauds_without_a_code_form_their_own_group() -> None:
    y = np.array([1, 1, 0])
    result = scenario_recall(y, np.array([0.9, 0.9, 0.9]), np.array(["x", None, None]), 0.5)
    assert result["x"].recall == 1.0
    assert result[NO_SCENARIO].frauds == 1


def test_no_scenario_codes_means_no_breakdown() -> None:
    y = np.array([1, 0, 1])
    assert scenario_recall(y, np.ones(3), np.array([None, None, None]), 0.5) == {}


def test_recall_at_alert_rate_takes_the_top_share_of_events() -> None:
    y = np.zeros(1000, dtype=np.int8)
    y[[0, 1, 2, 500]] = 1
    score = np.linspace(1, 0, 1000)  # event 0 scores highest
    assert recall_at_alert_rate(y, score, 0.005) == 0.75  # top 5 holds frauds 0, 1, 2
    assert recall_at_alert_rate(y, score, 0.01) == 0.75
    assert recall_at_alert_rate(y, score, 0.6) == 1.0
    assert math.isnan(recall_at_alert_rate(np.zeros(10), score[:10], 0.1))


def test_scenario_recall_at_the_alert_rate_threshold() -> None:
    """The threshold of a 1 % budget alerts 1 % of events; recall per scenario follows."""
    rng = np.random.default_rng(0)
    score = rng.random(10_000)
    y = np.zeros(10_000, dtype=np.int8)
    top = np.argsort(-score)
    y[top[:50]] = 1  # inside the top 1 %
    y[top[5000:5050]] = 1  # far below it
    scenarios = np.full(10_000, None, dtype=object)
    scenarios[top[:50]] = "obvious"
    scenarios[top[5000:5050]] = "subtle"
    cut = threshold_for_alert_rate(score, 0.01)
    assert (score >= cut).sum() == 100
    result = scenario_recall(y, score, scenarios, cut)
    assert result["obvious"].recall == 1.0
    assert result["subtle"].recall == 0.0
