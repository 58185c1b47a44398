"""The analyst team's decisions: capacity, delays, mistakes, chargebacks, label times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.analysts import AnalystsConfig, AnalystsConfigError, AnalystTeam, Truth, draw
from schemas import Channel, Decision, FeedbackSource, Label, Score

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)


def _score(event_id: str, decision: Decision, ts: datetime = T0) -> Score:
    return Score(
        event_id=event_id,
        account_id="acc-9",
        event_type="transaction",
        fraud_score=0.9 if decision is not Decision.ALLOW else 0.05,
        anomaly_score=1.0,
        decision=decision,
        reasons=[],
        model_version="v1",
        latency_ms=0.4,
        scored_at=ts + timedelta(seconds=1),
        event_ts=ts,
    )


def _truth(
    event_id: str, fraud: bool, ts: datetime = T0, channel: Channel | None = Channel.POS
) -> Truth:
    merchant = "m-7" if channel is not None else None
    return Truth(event_id, "acc-9", ts, fraud, "card_testing" if fraud else None, merchant, channel)


def _team(**options: object) -> AnalystTeam:
    defaults: dict = {"review_delay_s": (1.0, 1.0), "chargeback_delay_s": 5.0, "error_rate": 0.0}
    defaults.update(options)
    return AnalystTeam(AnalystsConfig(**defaults))


def test_alerts_get_the_truth_after_the_review_delay() -> None:
    team = _team()
    team.observe(_truth("f", True), now=0)
    team.observe(_truth("g", False), now=0)
    assert team.on_alert(_score("f", Decision.BLOCK), now=0)
    assert team.on_alert(_score("g", Decision.REVIEW), now=0)
    assert team.due(0.99) == []
    labels = {fb.event_id: fb for fb in team.due(1.0)}
    assert labels["f"].label is Label.FRAUD and labels["g"].label is Label.GENUINE
    assert {fb.source for fb in labels.values()} == {FeedbackSource.ANALYST}
    assert labels["f"].merchant_id == "m-7" and labels["f"].account_id == "acc-9"
    assert {fb.analyst_id for fb in labels.values()} == {"analyst-001", "analyst-002"}
    assert labels["f"].fraud_type == "card_testing" and labels["g"].fraud_type is None


def test_capacity_per_analyst_and_day_leaves_the_rest_unreviewed() -> None:
    team = _team(analysts=2, capacity=2)
    reviewed = [team.on_alert(_score(f"a{i}", Decision.REVIEW), now=0) for i in range(6)]
    assert reviewed == [True] * 4 + [False] * 2 and team.stats["unreviewed"] == 2
    assert team.on_alert(_score("next-day", Decision.REVIEW, T0 + timedelta(days=1)), now=0)
    assert not team.on_alert(_score("a0", Decision.REVIEW), now=0)  # a redelivered alert
    assert team.stats["duplicate_alerts"] == 1


def test_the_error_rate_flips_that_share_of_verdicts_the_same_way_every_run() -> None:
    ids = [f"e{i}" for i in range(400)]
    runs = []
    for _ in range(2):
        team = _team(error_rate=0.25, capacity=1000)
        for event_id in ids:
            team.observe(_truth(event_id, True), now=0)
            team.on_alert(_score(event_id, Decision.BLOCK), now=0)
        runs.append([fb.label for fb in team.due(10)])
    assert runs[0] == runs[1]
    wrong = sum(label is Label.GENUINE for label in runs[0])
    assert 70 <= wrong <= 130
    assert wrong == sum(draw(0, i, "error") < 0.25 for i in ids)


def test_missed_frauds_are_charged_back_and_genuine_allowed_events_are_not() -> None:
    team = _team()
    team.observe(_truth("card", True, channel=Channel.ECOM), now=0)
    team.observe(_truth("ok", False), now=0)
    team.on_score(_score("card", Decision.ALLOW), now=0)
    team.on_score(_score("ok", Decision.ALLOW), now=0)
    team.on_score(_score("transfer", Decision.ALLOW), now=1)  # truth comes after the score
    team.observe(_truth("transfer", True, channel=Channel.TRANSFER), now=2)
    team.on_score(_score("login", Decision.ALLOW), now=0)
    team.observe(_truth("login", True, channel=None), now=0)
    team.on_score(_score("card", Decision.ALLOW), now=0)  # a second score: one chargeback
    assert team.due(4.9) == []
    out = {fb.event_id: fb for fb in team.due(6.0)}
    assert set(out) == {"card", "transfer", "login"}
    assert out["card"].source is FeedbackSource.CHARGEBACK and out["card"].label is Label.FRAUD
    assert out["transfer"].source is FeedbackSource.CUSTOMER
    assert out["login"].source is FeedbackSource.CUSTOMER and out["login"].merchant_id is None
    assert {fb.fraud_type for fb in out.values()} == {"card_testing"}  # the reason code


def test_a_genuine_event_mistaken_for_fraud_gets_no_fraud_type() -> None:
    team = _team(error_rate=1.0)
    team.observe(_truth("g", False), now=0)
    team.observe(_truth("f", True), now=0)
    team.on_alert(_score("g", Decision.REVIEW), now=0)
    team.on_alert(_score("f", Decision.BLOCK), now=0)
    labels = {fb.event_id: fb for fb in team.due(1.0)}
    assert labels["g"].label is Label.FRAUD and labels["g"].fraud_type is None
    assert labels["f"].label is Label.GENUINE and labels["f"].fraud_type is None


def test_alerts_without_truth_are_given_up_after_the_timeout() -> None:
    team = _team(truth_timeout_s=3.0)
    team.on_alert(_score("unknown", Decision.BLOCK), now=0)
    assert team.due(2.0) == []  # retried: the truth may still come
    team.on_score(_score("unknown-allowed", Decision.ALLOW), now=0)
    assert team.due(10.0) == [] and team.stats["no_truth"] == 2


def test_labels_arrive_on_the_streams_clock_never_before_their_event() -> None:
    team = _team()
    team.observe(_truth("old", True, T0), now=0)
    team.observe(_truth("later", False, T0 + timedelta(hours=3)), now=0)
    team.on_alert(_score("old", Decision.BLOCK, T0), now=0)
    (label,) = team.due(2)
    assert label.ts == T0 + timedelta(hours=3)


def test_inconsistent_options_are_refused() -> None:
    with pytest.raises(AnalystsConfigError, match="review-delay"):
        AnalystsConfig(review_delay_s=(5.0, 1.0))
    with pytest.raises(AnalystsConfigError, match="error-rate"):
        AnalystsConfig(error_rate=1.5)
