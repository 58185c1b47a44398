"""The pieces of ``bench continual`` that need no model: analysts on the stream clock, the
store layout, operating points, targets and the gate acknowledgement."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.evaluation.thresholds import threshold_for_alert_rate
from models.manifest import Thresholds
from models.retrain import RetrainConfig
from models.retrain.compare import ScoredSet
from pipeline.bench.continual import ContinualConfig, result_gate_changes, targets
from pipeline.bench.continual_labels import (
    LabellingConfig,
    ScoredPeriod,
    analyst_labels,
    reviewed_false_positive_ids,
    write_store_layout,
)
from pipeline.bench.continual_measure import (
    ScoredPeriod3,
    at_channel_fprs,
    channel_fprs,
    cut_at_recall,
    measure,
    operating_point,
)
from pipeline.bench.continual_world import WorldConfig
from pipeline.bench.exceptions import BenchError
from pipeline.store.columns import EVENT_SCHEMA, FEEDBACK_SCHEMA
from schemas.tabular import event_log_schema

T0 = datetime(2025, 1, 6, tzinfo=UTC)


def _events(rows: list[dict]) -> pl.DataFrame:
    """Event-log rows (truth included) with the champion's score columns."""
    schema = event_log_schema()
    base = {name: None for name in schema}
    frame = pl.DataFrame([{**base, **r} for r in rows], schema={
        **schema, "fraud_score": pl.Float64, "anomaly_score": pl.Float64, "decision": pl.String
    })  # fmt: skip
    return frame


def _row(i: int, hours: float, decision: str, fraud: bool, **kw: object) -> dict:
    return {
        "event_type": "transaction",
        "event_id": f"tx-{i:010d}",
        "account_id": f"acc-{i % 7:06d}",
        "ts": T0 + timedelta(hours=hours),
        "amount": 10.0,
        "currency": "EUR",
        "merchant_id": "m-1",
        "channel": "ecom",
        "is_fraud": fraud,
        "fraud_scenario": "card_testing" if fraud else None,
        "fraud_score": 0.9 if decision != "allow" else 0.1,
        "anomaly_score": 0.0,
        "decision": decision,
        **kw,
    }


@pytest.fixture
def period() -> ScoredPeriod:
    rows = [
        _row(1, 1, "review", False),  # a false positive: reviewed, genuine
        _row(2, 2, "review", True),  # a caught fraud: reviewed, fraud
        _row(3, 3, "allow", True),  # a missed fraud: chargeback 2 days later
        _row(4, 4, "allow", False),  # nothing happens
        _row(5, 60, "allow", True),  # missed too late: its chargeback is after the retrain
    ]
    return ScoredPeriod(events=_events(rows), version="v0001-baseline-x")


CONFIG = LabellingConfig(error_rate=0.0, review_delay_h=(1.0, 1.0), chargeback_delay_days=2.0)


def test_analysts_review_alerts_and_chargebacks_follow_missed_frauds(period: ScoredPeriod) -> None:
    until = T0 + timedelta(days=3)
    labels = analyst_labels(period, CONFIG, until)
    fb = labels.feedback.sort("event_id")
    got = {(r["event_id"], r["source"], r["label"]) for r in fb.iter_rows(named=True)}
    assert got == {
        ("tx-0000000001", "analyst", "genuine"),
        ("tx-0000000002", "analyst", "fraud"),
        ("tx-0000000003", "chargeback", "fraud"),
    }
    assert fb.schema == pl.Schema(FEEDBACK_SCHEMA)
    assert (fb["ts"] < until).all()
    # a label never arrives before its event, nor before its delay has passed on the clock
    charge = fb.filter(pl.col("source") == "chargeback")["ts"][0]
    assert charge >= T0 + timedelta(hours=3)
    assert labels.stats["alerts"] == 2 and labels.stats["labels_after_retrain"] >= 1
    assert reviewed_false_positive_ids(period, labels) == {"tx-0000000001"}


def test_capacity_leaves_alerts_unreviewed(period: ScoredPeriod) -> None:
    tight = LabellingConfig(analysts=1, capacity=1, error_rate=0.0, review_delay_h=(1.0, 1.0))
    labels = analyst_labels(period, tight, T0 + timedelta(days=10))
    assert labels.stats["unreviewed"] == 1
    assert labels.feedback.filter(pl.col("source") == "analyst").height == 1


def test_store_layout_has_no_truth_and_the_champions_decisions(
    period: ScoredPeriod, tmp_path: Path
) -> None:
    labels = analyst_labels(period, CONFIG, T0 + timedelta(days=3))
    write_store_layout(period, labels, tmp_path)
    events = pl.read_parquet(tmp_path / "events" / "*" / "*.parquet", hive_partitioning=False)
    assert events.columns == list(EVENT_SCHEMA)
    assert "is_fraud" not in events.columns
    assert set(events["model_version"]) == {"v0001-baseline-x"}
    assert events.filter(pl.col("decision") == "review").height == 2
    assert sorted(p.name for p in (tmp_path / "events").iterdir()) == [
        "day=2025-01-06",
        "day=2025-01-08",
    ]
    assert (tmp_path / "feedback").is_dir()


def _period3(y: list[int], champion: list[float], challenger: list[float]) -> ScoredPeriod3:
    n = len(y)
    scored = ScoredSet(
        name="period3",
        y=np.array(y, dtype=np.int8),
        event_types=np.array(["transaction"] * n, dtype=object),
        scenarios=np.array(
            ["new" if i % 2 else "old" if v else None for i, v in enumerate(y)], dtype=object
        ),
        scores={"champion": np.array(champion), "challenger": np.array(challenger)},
    )
    return ScoredPeriod3(scored, segment=np.array([i < n // 2 for i in range(n)]))


def test_cut_at_recall_reaches_the_recall_with_the_highest_cut() -> None:
    y = np.array([1, 0, 1, 0, 1, 0])
    score = np.array([0.9, 0.8, 0.5, 0.4, 0.3, 0.1])
    assert cut_at_recall(y, score, 2 / 3) == 0.5
    assert cut_at_recall(y, score, 1.0) == 0.3
    assert cut_at_recall(y, score, 0.01) == 0.9


def test_operating_point_counts_false_positives_in_and_out_of_the_segment() -> None:
    period = _period3([1, 0, 0, 0, 1, 0, 0, 1], [0.9] * 4 + [0.1] * 4, [0.5] * 8)
    point = operating_point(period, "champion", 0.5)
    assert point["recall"] == pytest.approx(1 / 3)
    assert point["fpr_segment"] == 1.0 and point["fpr_elsewhere"] == 0.0
    assert point["false_positives"] == 3 and point["alert_rate"] == 0.5


def test_targets_are_met_or_not_from_the_measured_figures() -> None:
    p3 = {
        "equal_recall": {"champion": {"fpr": 0.010}, "challenger": {"fpr": 0.006}},
        "equal_alert_rate": {
            "champion": {"scenarios": {"new": {"recall": 0.2}, "a": {"recall": 0.8},
                                       "b": {"recall": 0.8}}},
            "challenger": {"scenarios": {"new": {"recall": 0.5}, "a": {"recall": 0.79},
                                         "b": {"recall": 0.7}}},
        },
    }  # fmt: skip
    got = {t["name"]: t for t in targets(p3, "new")}
    assert got["false-positive rate at equal recall down"]["measured"] == pytest.approx(0.4)
    assert got["false-positive rate at equal recall down"]["met"]
    assert got["recall on the new pattern (new) up"]["met"]
    assert got["recall on a within 2 points"]["met"]
    assert not got["recall on b within 2 points"]["met"]
    p3["equal_recall"]["challenger"]["fpr"] = 0.008  # a 20 % drop
    assert not targets(p3, "new")[0]["met"]
    # at equal false-positive rate too, beside (not instead of) the equal alert rate
    p3["equal_fpr"] = {
        "champion": {"scenarios": {"new": {"recall": 0.2}, "a": {"recall": 0.8},
                                   "b": {"recall": 0.8}}},
        "challenger": {"scenarios": {"new": {"recall": 0.6}, "a": {"recall": 0.9},
                                     "b": {"recall": 0.77}}},
    }  # fmt: skip
    got = {t["name"]: t for t in targets(p3, "new")}
    assert not got["recall on b within 2 points"]["met"]
    assert got["recall on a within 2 points, at equal false-positive rate"]["met"]
    assert not got["recall on b within 2 points, at equal false-positive rate"]["met"]
    assert "recall on new within 2 points, at equal false-positive rate" not in got
    # and at each channel's false-positive rate, beside them as well
    p3["equal_fpr_per_channel"] = {
        "champion": {"scenarios": {"new": {"recall": 0.2}, "b": {"recall": 0.8}}},
        "challenger": {"scenarios": {"new": {"recall": 0.6}, "b": {"recall": 0.79}}},
    }
    got = {t["name"]: t for t in targets(p3, "new")}
    assert got["recall on b within 2 points, at each channel's false-positive rate"]["met"]
    assert got["recall on the new pattern (new) up, at each channel's false-positive rate"]["met"]
    assert not got["recall on b within 2 points"]["met"]
    # and at the thresholds each model serves with
    p3["own_thresholds"] = {
        "champion": {"scenarios": {"new": {"recall": 0.3}, "b": {"recall": 0.8}}},
        "challenger": {"scenarios": {"new": {"recall": 0.2}, "b": {"recall": 0.85}}},
    }
    got = {t["name"]: t for t in targets(p3, "new")}
    assert got["recall on b within 2 points, at each model's own thresholds"]["met"]
    assert not got["recall on the new pattern (new) up, at each model's own thresholds"]["met"]


def test_each_channel_keeps_its_false_alarm_rate_and_the_old_pattern_its_alerts() -> None:
    # card-present: an old pattern both models rank alike; transfers: a new pattern only the
    # challenger sees, with one genuine transfer it now scores high
    channel = np.array(["pos"] * 6 + ["transfer"] * 6, dtype=object)
    y = np.array([1, 1, 0, 0, 0, 0] * 2, dtype=np.int8)
    scenarios = np.array(["old", "old", None, None, None, None] + ["new", "new"] + [None] * 4,
                         dtype=object)  # fmt: skip
    pos = [0.9, 0.75, 0.7, 0.5, 0.1, 0.1]
    champion = np.array([*pos, 0.2, 0.2, 0.3, 0.1, 0.1, 0.1])
    challenger = np.array([*pos, 0.95, 0.95, 0.8, 0.1, 0.1, 0.1])
    scored = ScoredSet(
        name="period3",
        y=y,
        event_types=np.array(["transaction"] * 12, dtype=object),
        scenarios=scenarios,
        scores={"champion": champion, "challenger": challenger},
    )
    period = ScoredPeriod3(scored, segment=np.zeros(12, bool), channel=channel)

    fprs = channel_fprs(period, "champion", 0.6)
    assert fprs == {"pos": 0.25, "transfer": 0.0}
    points = {role: at_channel_fprs(period, role, fprs) for role in ("champion", "challenger")}
    for point in points.values():
        assert point["fpr"] == pytest.approx(1 / 8)  # one genuine alert of eight, both
        assert point["scenarios"]["old"]["recall"] == 1.0
        assert set(point["cut"]) == {"pos", "transfer"}
    assert points["champion"]["scenarios"]["new"]["recall"] == 0.0
    assert points["challenger"]["scenarios"]["new"]["recall"] == 1.0
    # one cut for all at the same overall false-alarm rate: the genuine transfer takes the
    # challenger's single false alarm, and the old pattern loses a fraud to it
    one_cut = threshold_for_alert_rate(challenger[y == 0], 1 / 8)
    assert operating_point(period, "challenger", one_cut)["scenarios"]["old"]["recall"] == 0.5


def test_measure_compares_both_models_at_the_champions_recall() -> None:
    class Fake:  # what compare() reads of a scorer: its thresholds per event type
        def __init__(self) -> None:
            self.thresholds = {t: {"review": 0.5, "block": 0.95} for t in ("transaction", "login")}

    y = [1, 0, 0, 1, 0, 0, 1, 0, 0, 1]
    champion = [0.9, 0.8, 0.7, 0.6, 0.2, 0.1, 0.3, 0.1, 0.1, 0.1]
    challenger = [0.9, 0.1, 0.1, 0.8, 0.2, 0.1, 0.7, 0.1, 0.1, 0.1]
    period = _period3(y, champion, challenger)
    body = measure(period, {"champion": Fake(), "challenger": Fake()}, 0.75)  # type: ignore[dict-item]
    assert body["equal_recall"]["recall"] == pytest.approx(0.5)
    assert body["equal_recall"]["champion"]["fpr"] > body["equal_recall"]["challenger"]["fpr"]
    assert (
        body["equal_alert_rate"]["challenger"]["alert_rate"]
        <= body["equal_alert_rate"]["alert_rate"]
    )
    assert body["average_precision"]["challenger"] > body["average_precision"]["champion"]
    same_fpr = body["equal_fpr"]
    assert same_fpr["fpr"] == body["equal_recall"]["champion"]["fpr"]
    for role in ("champion", "challenger"):
        assert same_fpr[role]["fpr"] <= same_fpr["fpr"] + 1e-12
    # the challenger ranks its frauds above its genuine events: more recall at that cost
    assert same_fpr["challenger"]["recall"] >= same_fpr["champion"]["recall"]

    # at its own thresholds: a channel's cut-off where the model has one, its type's else
    challenger_scorer = Fake()
    challenger_scorer.thresholds["transaction/ecom"] = {"review": 0.1, "block": 0.95}
    channels = np.array(["pos", "ecom"] * 5, dtype=object)
    with_channels = replace(period, scored=replace(period.scored, channels=channels))
    trained = {t: Thresholds(review=0.5, block=0.95) for t in ("transaction", "login")}
    scorers = {"champion": Fake(), "challenger": challenger_scorer}
    own = measure(with_channels, scorers, 0.75, trained)["own_thresholds"]  # type: ignore[arg-type]
    assert own["champion"]["recall"] == 0.5  # 0.9 and 0.6 of the frauds 0.9, 0.6, 0.3, 0.1
    assert own["champion"]["false_positives"] == 2  # 0.8 and 0.7
    # pos at 0.5: the frauds 0.9 and 0.7 (not the genuine 0.2); ecom at 0.1: every event
    assert own["challenger"]["recall"] == 1.0
    assert own["challenger"]["false_positives"] == 3
    # beside: the challenger at the cut-offs it was trained with (0.5 for every transaction)
    assert own["challenger_as_trained"]["recall"] == 0.75
    assert own["challenger_as_trained"]["false_positives"] == 0


def test_gate_acknowledgement_widens_only_what_failed() -> None:
    only_rates = result_gate_changes(["rates.fraud_share", "rates.labelled_share"])
    assert only_rates.rate_tolerance is not None
    assert only_rates.quantile_tolerance is None and only_rates.max_numeric_kl is None
    quantiles = result_gate_changes(["events.amount.drift_quantiles"])
    assert quantiles.quantile_tolerance is not None and quantiles.rate_tolerance is None


def test_world_config_periods_and_segment() -> None:
    world = WorldConfig(events=3_000, days=5)
    bounds = world.bounds()
    assert [b[1] - b[0] for b in bounds] == [timedelta(days=5)] * 3
    assert bounds[0][1] == bounds[1][0] and bounds[1][1] == bounds[2][0]
    sim = world.simulator_config()
    assert sim.days == 15 and sim.events == 9_000 and sim.drift is not None
    assert sim.drift.start_day == 5 and sim.drift.relay_adopters > 0 and sim.drift.adopters == 0
    frame = pl.DataFrame({"asn": [16509, 3320, None], "merchant_category": [None, "x", "x"]})
    assert frame.select(world.segment()).to_series().to_list() == [True, False, False]
    with pytest.raises(BenchError):
        WorldConfig(shift="weather")


def test_the_learners_levers_reach_the_retrain_and_default_to_its_own() -> None:
    assert ContinualConfig().retrain_config() == RetrainConfig(baseline=ContinualConfig().baseline)
    levers = ContinualConfig(
        false_positive_weight=3.0,
        replay_share=0.2,
        replay_fraud_weight=2.0,
        replay_all_frauds=not RetrainConfig.replay_all_frauds,
        regression_min_frauds=RetrainConfig.regression_min_frauds + 50,
        thresholds="own",
    ).retrain_config()
    assert (levers.false_positive_weight, levers.replay_share, levers.replay_fraud_weight) == (
        3.0,
        0.2,
        2.0,
    )
    assert levers.replay_all_frauds is not RetrainConfig.replay_all_frauds
    assert levers.regression_min_frauds == RetrainConfig.regression_min_frauds + 50
    assert levers.thresholds == "own" != RetrainConfig.thresholds
