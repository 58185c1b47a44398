"""The retrain's data: stable account sampling, reviewed false positives, label maturity and
the held-out recent window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.data import EventLog
from models.retrain import RetrainConfig
from models.retrain.data import (
    _recent_window,
    account_mask,
    fraud_type_counts,
    label_maturity,
    regression_set,
    retrain_data,
    reviewed_false_positives,
    without_regression,
)
from schemas.tabular import event_log_schema

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _log() -> EventLog:
    events = pl.DataFrame(
        {
            "event_id": ["e1", "e2", "e3", "e4"],
            "account_id": ["a", "b", "c", "d"],
            "ts": [T0 + timedelta(minutes=i) for i in range(4)],
            "is_fraud": [False, False, True, None],
        }
    )
    feedback = pl.DataFrame(
        {
            "event_id": ["e1", "e2", "e3", "e4"],
            "label": ["genuine", "genuine", "fraud", "genuine"],
            "source": ["analyst", "customer", "analyst", "analyst"],
        }
    )
    return EventLog(events=events, feedback=feedback, source="test")


def test_reviewed_false_positives_are_alerted_events_an_analyst_cleared(tmp_path: Path) -> None:
    day = tmp_path / "events" / "day=2026-01-01"
    day.mkdir(parents=True)
    pl.DataFrame(
        {
            "event_id": ["e1", "e2", "e3", "e4"],
            "decision": ["review", "block", "block", "allow"],
        }
    ).write_parquet(day / "part-0.parquet")
    # e1: alerted, analyst said genuine -> FP; e2: the customer, not an analyst; e3: fraud;
    # e4: never alerted
    assert reviewed_false_positives(tmp_path, _log()) == {"e1"}


def test_no_decision_column_means_no_false_positives(tmp_path: Path) -> None:
    day = tmp_path / "events" / "day=2026-01-01"
    day.mkdir(parents=True)
    pl.DataFrame({"event_id": ["e1"]}).write_parquet(day / "part-0.parquet")
    assert reviewed_false_positives(tmp_path, _log()) == set()


def test_account_sample_is_stable_and_whole_accounts() -> None:
    events = pl.DataFrame({"account_id": [f"acc{i % 500}" for i in range(5000)]})
    mask = account_mask(events, 0.2, "salt")
    assert mask.equals(account_mask(events, 0.2, "salt"))
    picked = events.filter(mask).get_column("account_id").unique()
    assert 60 < len(picked) < 140
    assert not events.filter(~mask).get_column("account_id").is_in(picked.implode()).any()


# ---- label maturity and the recent window -------------------------------------------------
HOUR = 3600.0


def _bank(days: int = 10, per_hour: int = 4, late_days: float = 3.0) -> EventLog:
    """One event every 15 minutes for ``days`` days; every 20th a fraud. Frauds at even
    positions were alerted and confirmed by an analyst an hour later; the others came back
    as chargebacks ``late_days`` later, and only those that arrived by the end are known."""
    n = days * 24 * per_hour
    ts = [T0 + timedelta(minutes=15 * i) for i in range(n)]
    end = ts[-1]
    fraud = [i for i in range(n) if i % 20 == 0]
    rows: list[tuple[str, datetime, str]] = []
    for k, i in enumerate(fraud):
        if k % 2 == 0:
            rows.append((f"e{i}", ts[i] + timedelta(hours=1), "analyst"))
        elif ts[i] + timedelta(days=late_days) <= end:
            rows.append((f"e{i}", ts[i] + timedelta(days=late_days), "chargeback"))
    feedback = pl.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "ts": [r[1] for r in rows],
            "label": ["fraud"] * len(rows),
            "source": [r[2] for r in rows],
        }
    )
    known = set(feedback.get_column("event_id"))
    events = pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "account_id": [f"a{i % 50}" for i in range(n)],
            "ts": ts,
            "is_fraud": [True if f"e{i}" in known else None for i in range(n)],
        }
    )
    return EventLog(events=events, feedback=feedback, source="bank")


def test_label_maturity_is_the_delay_of_chargebacks_not_of_analysts() -> None:
    bank = _bank(late_days=3.0)
    assert label_maturity(bank, 0.95) == pytest.approx(3 * 24 * HOUR)
    analysts_only = EventLog(
        events=bank.events,
        feedback=bank.feedback.filter(pl.col("source") == "analyst"),  # type: ignore[union-attr]
        source="bank",
    )
    assert label_maturity(analysts_only, 0.95) == 0.0
    assert label_maturity(EventLog(events=bank.events), 0.95) == 0.0


def test_recent_window_ends_where_labels_are_complete() -> None:
    bank = _bank(days=10, late_days=3.0)
    ts = bank.ts_seconds()
    start, end, matured = _recent_window(bank, 0.2, 3 * 24 * HOUR, -np.inf)
    assert matured
    assert end == pytest.approx(ts[-1] - 3 * 24 * HOUR)
    window = (ts >= start) & (ts <= end)
    assert abs(int(window.sum()) - int(0.2 * len(ts))) <= 1
    # every fraud in the window has its label: none is waiting for a chargeback
    frauds = [i for i in range(len(ts)) if i % 20 == 0 and window[i]]
    assert frauds and bank.labels.gather(frauds).is_not_null().all()
    # without maturity: the last fifth, where half the frauds are still unlabelled
    start0, end0, matured0 = _recent_window(bank, 0.2, 0.0, -np.inf)
    assert matured0 and np.isinf(end0) and start0 > end


def test_recent_window_never_reaches_into_the_champions_training() -> None:
    bank = _bank(days=10, late_days=3.0)
    ts = bank.ts_seconds()
    # the champion trained until a day before the data's end: nothing matured after it
    start, end, matured = _recent_window(bank, 0.2, 3 * 24 * HOUR, float(ts[-1] - 24 * HOUR))
    assert not matured
    assert np.isinf(end) and start == pytest.approx(ts[len(ts) - int(0.2 * len(ts))])


def test_retrain_data_holds_out_a_matured_window_and_trains_on_the_rest(
    tmp_path: Path,
) -> None:
    bank = _bank(days=10, late_days=3.0)
    data = retrain_data(tmp_path, bank, None, None, RetrainConfig(min_new_events=10))
    assert data.info["recent_matured"] is True
    assert data.info["label_maturity_hours"] == pytest.approx(72.0)
    ts = bank.ts_seconds()
    in_window = (ts >= data.recent_start) & (ts <= data.recent_end)
    window = set(bank.events.filter(pl.Series(in_window)).get_column("event_id"))
    train_ids = set(data.train.events.get_column("event_id"))
    assert window and not window & train_ids
    assert train_ids | window == set(bank.events.get_column("event_id"))
    assert data.info["training_events_after_recent"] == int((ts > data.recent_end).sum()) > 0
    # a maturity set by hand wins over the measured one
    fixed = retrain_data(
        tmp_path, bank, None, None, RetrainConfig(min_new_events=10, label_maturity_days=1.0)
    )
    assert fixed.recent_end == pytest.approx(ts[-1] - 24 * HOUR)


def test_a_one_event_window_with_nothing_matured_falls_back_to_the_tail() -> None:
    bank = _bank(days=2, late_days=3.0)  # every event is younger than the maturity
    ts = bank.ts_seconds()
    start, end, matured = _recent_window(bank, 0.001, 3 * 24 * HOUR, -np.inf)
    assert not matured and np.isinf(end) and start == pytest.approx(ts[-1])
    # matured events exist, but all are the champion's training data
    start, end, matured = _recent_window(bank, 0.001, 3 * HOUR, float(ts[-1]))
    assert not matured and np.isinf(end) and start == pytest.approx(ts[-1])


def test_replayed_frauds_get_their_weight_and_fresh_ones_do_not(tmp_path: Path) -> None:
    bank = _bank(days=10, late_days=3.0)
    cutoff = T0 + timedelta(days=5)
    config = RetrainConfig(min_new_events=10, replay_share=0.9, replay_fraud_weight=4.0)
    data = retrain_data(tmp_path, bank, None, cutoff, config)
    train = data.train.events
    frauds = train.filter(pl.col("is_fraud").fill_null(False))
    replayed = set(frauds.filter(pl.col("ts") <= cutoff).get_column("event_id"))
    fresh = set(frauds.filter(pl.col("ts") > cutoff).get_column("event_id"))
    assert replayed and fresh
    assert {k for k, w in data.weights.items() if w == 4.0} == replayed
    assert not fresh & set(data.weights)
    assert data.info["replayed_frauds_weighted"] == len(replayed)
    # by default a replayed fraud weighs as any event
    plain = retrain_data(tmp_path, bank, None, cutoff, RetrainConfig(min_new_events=10))
    assert not plain.weights and plain.info["replayed_frauds_weighted"] == 0


def test_replay_all_frauds_replays_every_older_account_with_a_fraud(tmp_path: Path) -> None:
    bank = _bank(days=10, late_days=3.0)
    cutoff = T0 + timedelta(days=5)
    older = bank.events.filter(pl.col("ts") <= cutoff)
    defrauded = set(older.filter(pl.col("is_fraud").fill_null(False)).get_column("account_id"))
    sampled = RetrainConfig(min_new_events=10, replay_share=0.1, replay_all_frauds=False)
    every = RetrainConfig(min_new_events=10, replay_share=0.1, replay_all_frauds=True)

    def replayed_accounts(config: RetrainConfig) -> set[str]:
        train = retrain_data(tmp_path, bank, None, cutoff, config).train.events
        return set(train.filter(pl.col("ts") <= cutoff).get_column("account_id"))

    assert not defrauded <= replayed_accounts(sampled)
    assert defrauded <= replayed_accounts(every)
    # whole histories: every older event of those accounts trains
    train = retrain_data(tmp_path, bank, None, cutoff, every).train.events
    kept = set(train.get_column("event_id"))
    assert set(older.filter(pl.col("account_id").is_in(defrauded)).get_column("event_id")) <= kept


def _typed_log() -> EventLog:
    """200 accounts, one event a day for 4 days; accounts 0-59 were defrauded on day 0:
    10 takeovers (3 frauds each), 50 card testings (1 fraud each)."""
    rows = []
    for a in range(200):
        for day in range(4):
            fraud_type = None
            if day == 0 and a < 10:
                fraud_type = "account_takeover"
            elif day == 0 and a < 60:
                fraud_type = "card_testing"
            for k in range(3 if fraud_type == "account_takeover" else 1):
                rows.append(
                    dict(
                        dict.fromkeys(event_log_schema(), None),
                        event_type="transaction",
                        event_id=f"e{a}-{day}-{k}",
                        account_id=f"acc{a:03d}",
                        ts=T0 + timedelta(days=day, minutes=a, seconds=k),
                        amount=10.0,
                        currency="EUR",
                        merchant_id="m1",
                        channel="pos",
                        is_fraud=fraud_type is not None,
                        fraud_scenario=fraud_type,
                    )
                )
    return EventLog(
        events=pl.DataFrame(rows, schema=event_log_schema()), feedback=None, source="typed"
    )


def test_regression_set_is_topped_up_to_enough_frauds_of_each_type(tmp_path: Path) -> None:
    log = _typed_log()
    hashed = regression_set(log, tmp_path / "hashed", 0.1)
    assert fraud_type_counts(hashed.log.events).get("card_testing", 0) < 15

    frozen = regression_set(log, tmp_path / "typed", 0.1, min_frauds=15, max_fraud_share=0.5)
    counts = fraud_type_counts(frozen.log.events)
    # card testing reaches 15 of 50; takeover is capped at half of its 30 frauds
    assert counts["card_testing"] >= 15
    assert 15 <= counts["account_takeover"] <= 15 + 2  # whole accounts of three frauds
    # the cap defaults to the retrain's own (35 %), not to "freeze nothing more"
    default_cap = regression_set(log, tmp_path / "default", 0.1, min_frauds=15)
    assert fraud_type_counts(default_cap.log.events)["card_testing"] >= 15
    again = regression_set(log, tmp_path / "again", 0.1, min_frauds=15, max_fraud_share=0.5)
    assert (
        again.log.events.get_column("event_id")
        .sort()
        .equals(frozen.log.events.get_column("event_id").sort())
    )

    # later data of a topped-up account never trains
    later = log.events.with_columns(
        (pl.col("event_id") + "-later").alias("event_id"), pl.col("ts") + timedelta(days=30)
    )
    rest = without_regression(EventLog(events=later, source="later"), frozen)
    frozen_accounts = set(frozen.log.events.get_column("account_id"))
    assert not set(rest.events.get_column("account_id")) & frozen_accounts
    assert (
        rest.events.height
        == later.filter(~pl.col("account_id").is_in(sorted(frozen_accounts))).height
    )
