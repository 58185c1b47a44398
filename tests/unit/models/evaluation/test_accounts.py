"""Daily account precision@k on hand-made days: ranking by the day's highest score, caught
accounts leaving later rankings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluation import daily_account_precision

DAY = 86_400.0
T0 = 20_000 * DAY  # a UTC midnight


def _events(*rows: tuple[str, float, int, float]) -> tuple[np.ndarray, ...]:
    accounts, ts, y, score = zip(*rows, strict=True)
    return np.array(accounts), np.array(ts), np.array(y), np.array(score)


def test_accounts_ranked_by_their_highest_score_of_the_day() -> None:
    # a: one high score among low ones; b: fraud but middling; c: genuine, mid
    events = _events(
        ("a", T0 + 10, 0, 0.1),
        ("a", T0 + 20, 0, 0.95),
        ("b", T0 + 30, 1, 0.6),
        ("c", T0 + 40, 0, 0.5),
    )
    result = daily_account_precision(*events, k=2)
    assert result.days == ["2024-10-04"]
    assert result.precision == [0.5]  # top 2 = a (0.95), b (0.6)
    assert result.reviewed == [2]
    assert (result.caught, result.fraudulent) == (1, 1)


def test_an_account_is_fraudulent_on_the_day_of_its_fraud_event_only() -> None:
    events = _events(
        ("a", T0 + 10, 1, 0.9),  # day 0: fraud
        ("a", T0 + DAY + 10, 0, 0.9),  # day 1: same account, no fraud that day
        ("b", T0 + 50, 0, 0.1),
        ("b", T0 + DAY + 50, 0, 0.1),
    )
    result = daily_account_precision(*events, k=1)
    assert result.precision[0] == 1.0
    # a was caught on day 0, so day 1 reviews b (genuine), not a again
    assert result.precision[1] == 0.0


def test_caught_accounts_are_dropped_on_later_days() -> None:
    # a is fraudulent on both days and scores highest; b is fraudulent on day 1 only
    events = _events(
        ("a", T0 + 1, 1, 0.99),
        ("b", T0 + 2, 0, 0.20),
        ("c", T0 + 3, 0, 0.10),
        ("a", T0 + DAY + 1, 1, 0.99),
        ("b", T0 + DAY + 2, 1, 0.50),
        ("c", T0 + DAY + 3, 0, 0.60),
    )
    result = daily_account_precision(*events, k=1)
    # day 0: a caught. day 1 without a: c (0.60) outranks b (0.50) -> precision 0
    assert result.precision == [1.0, 0.0]
    assert result.mean == 0.5
    assert (result.caught, result.fraudulent) == (1, 2)
    assert result.account_recall == 0.5
    # with k=2 day 1 reviews c and b: b is caught too
    wider = daily_account_precision(*events, k=2)
    assert wider.precision == [0.5, 0.5]
    assert wider.caught == 2


def test_an_alerted_genuine_account_stays_in_the_ranking() -> None:
    events = _events(
        ("a", T0 + 1, 0, 0.9),
        ("b", T0 + 2, 0, 0.1),
        ("a", T0 + DAY + 1, 1, 0.9),
        ("b", T0 + DAY + 2, 0, 0.1),
    )
    result = daily_account_precision(*events, k=1)
    assert result.precision == [0.0, 1.0]


def test_quiet_days_review_fewer_accounts_and_ties_break_by_account() -> None:
    events = _events(("b", T0 + 1, 1, 0.5), ("a", T0 + 2, 0, 0.5))
    assert daily_account_precision(*events, k=1).precision == [0.0]  # "a" wins the tie
    result = daily_account_precision(*events, k=100)
    assert result.reviewed == [2]
    assert result.precision == [0.5]


def test_no_events_and_bad_k() -> None:
    empty = daily_account_precision(np.array([]), np.array([]), np.array([]), np.array([]))
    assert empty.days == [] and math.isnan(empty.mean) and math.isnan(empty.account_recall)
    with pytest.raises(ValueError, match="k must be"):
        daily_account_precision(*_events(("a", T0, 0, 0.1)), k=0)
