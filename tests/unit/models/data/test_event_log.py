"""Loading the simulator's Parquet layout: order, schema, final labels, label arrivals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from models.data import (
    EventLog,
    EventLogError,
    load_event_log,
    replay_log,
    time_split,
)
from models.exceptions import TrainingDataError
from models.features import EventView, replay
from models.features.events import KIND_LOGIN_FAILED, KIND_LOGIN_OK, KIND_TRANSACTION
from schemas.tabular import event_log_schema
from tests.unit.models.synthetic import synthetic_events, write_simulator_layout


def test_simulator_layout_is_read_sorted_and_typed(event_log: EventLog) -> None:
    frame = event_log.events
    assert dict(frame.schema) == event_log_schema()
    assert frame.height > 5000
    ts = frame.get_column("ts")
    assert ts.is_sorted()
    assert frame.get_column("event_id").n_unique() == frame.height
    assert event_log.feedback is not None and event_log.feedback.height > 0


def test_final_labels_and_scenarios_come_from_the_truth_columns(event_log: EventLog) -> None:
    labels = event_log.labels
    assert labels.null_count() == 0
    frauds = event_log.events.filter(pl.col("is_fraud"))
    assert frauds.height == int(labels.sum()) > 20
    assert set(frauds.get_column("fraud_scenario").unique()) == {
        "account_takeover",
        "card_testing",
        "impossible_travel",
    }
    assert event_log.events.filter(~pl.col("is_fraud")).get_column("fraud_scenario").null_count()


def test_label_arrivals_come_from_feedback_in_arrival_order(event_log: EventLog) -> None:
    assert event_log.feedback is not None
    arrivals = event_log.label_arrivals()
    assert len(arrivals) == event_log.feedback.height
    assert [a.arrived for a in arrivals] == sorted(a.arrived for a in arrivals)
    merchant_of = dict(event_log.events.select("event_id", "merchant_id").iter_rows())
    ts_of = dict(event_log.events.select("event_id", "ts").iter_rows())
    for arrival in arrivals:
        assert arrival.merchant_id == merchant_of[arrival.event_id]
        assert arrival.arrived > ts_of[arrival.event_id].timestamp()  # labels come later
    fraud_ids = set(event_log.events.filter(pl.col("is_fraud")).get_column("event_id"))
    assert {a.event_id for a in arrivals if a.is_fraud} <= fraud_ids


def test_without_feedback_every_label_arrives_after_the_delay(tmp_path: Path) -> None:
    events = synthetic_events(accounts=5, days=5)
    folder = tmp_path / "log"
    (folder / "events" / "day=2026-01-01").mkdir(parents=True)
    events.write_parquet(folder / "events" / "day=2026-01-01" / "part-0.parquet")
    log = load_event_log(folder)
    assert log.feedback is None
    arrivals = log.label_arrivals(timedelta(days=2))
    assert len(arrivals) == len(log)
    first = log.events.row(0, named=True)
    by_id = {a.event_id: a for a in arrivals}
    assert by_id[first["event_id"]].arrived == first["ts"].timestamp() + 2 * 86400


def test_views_follow_the_log_order_with_kinds(event_log: EventLog) -> None:
    views = list(event_log.views())
    assert [v.event_id for v in views] == event_log.events.get_column("event_id").to_list()
    assert all(isinstance(v, EventView) for v in views)
    kinds = {v.kind for v in views}
    assert kinds == {KIND_TRANSACTION, KIND_LOGIN_OK, KIND_LOGIN_FAILED}
    row = event_log.events.row(0, named=True)
    assert views[0] == EventView.from_row(row)  # same view as from the datetime row


def test_replay_aligns_tokens_and_labels(event_log: EventLog) -> None:
    replayed = replay_log(event_log, window=8)
    assert len(replayed) == len(event_log)
    assert replayed.replay.event_ids == event_log.events.get_column("event_id").to_list()
    assert int((replayed.labels == 1).sum()) == int(event_log.labels.sum())
    direct = replay(event_log.views(), event_log.label_arrivals(), window=8)
    assert (direct.cat == replayed.replay.cat).all()


def test_time_split_is_by_time_and_roughly_proportional(event_log: EventLog) -> None:
    split = time_split(event_log)
    ts = event_log.ts_seconds()
    train, val, test = split.masks(ts)
    assert (train.astype(int) + val + test == 1).all()
    assert ts[train].max() < ts[val].min() <= ts[val].max() < ts[test].min()
    n = len(ts)
    assert abs(train.sum() / n - 0.7) < 0.01
    assert abs(val.sum() / n - 0.15) < 0.01
    assert split.start < split.train_end < split.val_end <= split.end


def test_time_split_rejects_bad_fractions(event_log: EventLog) -> None:
    with pytest.raises(TrainingDataError, match="fractions"):
        time_split(event_log, (0.5, 0.5, 0.5))


def test_fingerprint_changes_with_a_label(event_log: EventLog) -> None:
    flipped = event_log.events.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(~pl.col("is_fraud"))
        .otherwise(pl.col("is_fraud"))
        .alias("is_fraud")
    )
    other = EventLog(flipped, event_log.feedback, event_log.source)
    assert event_log.fingerprint() == EventLog(event_log.events, event_log.feedback).fingerprint()
    assert other.fingerprint() != event_log.fingerprint()


def test_duplicates_are_dropped_and_unsorted_days_sorted(tmp_path: Path) -> None:
    events = synthetic_events(accounts=4, days=4)
    doubled = pl.concat([events.reverse(), events.head(10)])
    write_simulator_layout(tmp_path, doubled)
    log = load_event_log(tmp_path)
    assert len(log) == events.height
    assert log.events.get_column("event_id").to_list() == events.get_column("event_id").to_list()


def test_missing_event_files_say_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    with pytest.raises(EventLogError, match="fraudstream simulate"):
        load_event_log(tmp_path)
    with pytest.raises(EventLogError, match="does not exist"):
        load_event_log(tmp_path / "nope.csv")


def test_a_store_log_takes_each_frauds_scenario_from_its_labels_fraud_type(
    tmp_path: Path,
) -> None:
    """Events without truth (the training store's): the final label and the scenario come
    from the feedback; a genuine final label keeps no scenario; an older label file without
    the ``fraud_type`` column still loads."""
    events = synthetic_events(accounts=5, days=5).drop("is_fraud", "fraud_scenario")
    ids = events.get_column("event_id").to_list()
    ts = events.get_column("ts").max()

    def label(event_id: str, value: str, hours: int, fraud_type: str | None) -> dict:
        return {
            "event_id": event_id,
            "account_id": "a",
            "ts": ts + timedelta(hours=hours),
            "label": value,
            "source": "analyst",
            "fraud_type": fraud_type,
        }

    typed = pl.DataFrame(
        [
            label(ids[0], "fraud", 1, "card_testing"),
            label(ids[1], "fraud", 1, "account_takeover"),
            label(ids[1], "fraud", 2, None),  # a later chargeback without a reason code
            label(ids[2], "fraud", 1, "stolen_card"),
            label(ids[2], "genuine", 2, None),  # the verdict was reversed
        ]
    )
    untyped = pl.DataFrame([label(ids[3], "fraud", 30, None)]).drop("fraud_type")
    root = write_simulator_layout(tmp_path / "store", events)
    for name, frame in (("a", typed), ("b", untyped)):
        folder = root / "feedback" / f"day={name}"
        folder.mkdir(parents=True)
        frame.write_parquet(folder / "part-0.parquet")

    log = load_event_log(root)
    final = dict(log.events.select("event_id", "fraud_scenario").iter_rows())
    assert final[ids[0]] == "card_testing"
    assert final[ids[1]] == "account_takeover"
    assert final[ids[2]] is None and final[ids[3]] is None
    assert log.events.filter(pl.col("event_id") == ids[3]).get_column("is_fraud").item()
    assert log.events.filter(pl.col("event_id") == ids[2]).get_column("is_fraud").item() is False
