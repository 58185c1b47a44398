"""The retrain's data: stable account sampling and reviewed false positives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from models.data import EventLog
from models.retrain.data import account_mask, reviewed_false_positives

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
