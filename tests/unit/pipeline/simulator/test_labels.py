"""Late labels: one per fraud after the chargeback delay, genuine ones on genuine events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from pipeline.simulator import SimulatorConfigError
from tests.unit.pipeline.simulator.conftest import Run, simulate, small_config


def _labelled(run: Run) -> pl.DataFrame:
    events = run.events.select(
        "event_id", "account_id", "merchant_id", "is_fraud", "fraud_scenario", ts_event="ts"
    )
    return run.feedback.join(events, on="event_id", how="left", suffix="_event")


def test_every_fraud_event_gets_one_fraud_label_after_the_delay(small_run: Run) -> None:
    labels = _labelled(small_run)
    fraud = labels.filter(pl.col("label") == "fraud")
    assert fraud["is_fraud"].all()
    assert fraud["event_id"].n_unique() == fraud.height == small_run.events["is_fraud"].sum()
    low, high = small_run.config.label_delay_days
    delay = (fraud["ts"] - fraud["ts_event"]).dt.total_seconds() / 86_400
    assert delay.min() >= low and delay.max() <= high
    assert (fraud["account_id"] == fraud["account_id_event"]).all()
    assert (fraud["merchant_id"].eq_missing(fraud["merchant_id_event"])).all()
    # each fraud label names its event's scenario, as a chargeback's reason code would
    assert fraud["fraud_type"].null_count() == 0
    assert (fraud["fraud_type"] == fraud["fraud_scenario"]).all()


def test_card_fraud_is_charged_back_transfers_and_logins_are_claimed(small_run: Run) -> None:
    fraud = _labelled(small_run).filter(pl.col("label") == "fraud")
    kinds = small_run.events.select("event_id", "event_type", "channel")
    fraud = fraud.join(kinds, on="event_id")
    card = fraud.filter(pl.col("channel").is_in(["pos", "ecom", "atm"]))
    assert (card["source"] == "chargeback").all() and card.height > 0
    other = fraud.filter(
        ~pl.col("channel").is_in(["pos", "ecom", "atm"]) | pl.col("channel").is_null()
    )
    assert (other["source"] == "customer").all() and other.height > 0


def test_genuine_labels_land_on_genuine_events_at_about_the_rate(default_run: Run) -> None:
    genuine = _labelled(default_run).filter(pl.col("label") == "genuine")
    assert not genuine["is_fraud"].any()
    assert genuine["fraud_type"].null_count() == genuine.height
    assert (genuine["ts"] >= genuine["ts_event"]).all()
    assert set(genuine["source"]) == {"analyst", "customer"}
    assert genuine.filter(pl.col("source") == "analyst")["analyst_id"].is_not_null().all()
    n_genuine = default_run.events.height - default_run.events["is_fraud"].sum()
    assert genuine.height / n_genuine == pytest.approx(
        default_run.config.genuine_label_rate, rel=0.15
    )


def test_labels_due_after_now_are_withheld_not_sent_into_the_future() -> None:
    now = datetime.now(UTC)
    start = (now - timedelta(days=6)).date()
    run = simulate(small_config(events=3_000, days=3, start=start, not_after=now))
    assert run.simulator.stats.feedback_withheld > 0
    assert run.feedback["ts"].max() <= now
    assert run.simulator.stats.feedback_fraud < run.events["is_fraud"].sum()


def test_a_period_ending_in_the_future_is_refused() -> None:
    now = datetime.now(UTC)
    with pytest.raises(SimulatorConfigError, match="earlier --start"):
        simulate(small_config(events=1_000, days=3, start=now.date(), not_after=now))


def test_default_start_leaves_time_for_every_label() -> None:
    config = small_config(start=None)
    today = datetime.now(UTC).date()
    latest_label = config.end_time() + timedelta(days=config.label_delay_days[1])
    assert latest_label.date() < today
