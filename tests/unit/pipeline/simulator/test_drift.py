"""A drifting world: the default stream is untouched; from the drift's start, genuine
customers shift and a new fraud scenario appears."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from pipeline.simulator import Scenario, SimulatorConfig, SimulatorConfigError, catalog
from pipeline.simulator.config import Drift
from tests.unit.pipeline.simulator.conftest import START, Run, simulate, small_config

#: sha256 of the rows of ``small_config(events=8000)`` as generated before drift existed
PINNED_DIGEST = "5c3ce4b595e23b6f55f0d369c2e3dca76eb34779ca7d1e0bc6e999d678edf4cd"
DAYS, DRIFT_DAY = 12, 6
HOSTING_ASNS = {h.asn for h in catalog.HOSTING}


def _digest(run: Run) -> str:
    """The rows' digest, event ids without the run tag added since (``tx-s7-…`` →
    ``tx-…``, the format of the pinned run) and labels without the ``fraud_type`` column
    added since."""
    digest = hashlib.sha256()
    untagged = pl.col("event_id").str.replace(r"^(tx|lg)-s-?\d+-", "${1}-")
    for day in run.days:
        for frame in (day.events, day.feedback.drop("fraud_type")):
            digest.update(str(frame.with_columns(untagged).rows()).encode())
    return digest.hexdigest()


def test_default_stream_is_byte_identical_to_before_drift_existed() -> None:
    run = simulate(small_config(events=8000))
    assert _digest(run) == PINNED_DIGEST
    seed = small_config(events=8000).seed
    assert run.events["event_id"].str.starts_with(f"tx-s{seed}-").any()
    assert Scenario.APP_SCAM.value not in run.simulator.stats.fraud


def test_worlds_of_other_seeds_share_no_event_id() -> None:
    """Two runs streamed into one pipeline must not look like redeliveries of each other."""
    one = simulate(small_config(events=3000))
    other = simulate(dataclasses.replace(small_config(events=3000), seed=small_config().seed + 1))
    assert not set(one.events["event_id"]) & set(other.events["event_id"])
    assert set(one.feedback["event_id"]) <= set(one.events["event_id"])


@pytest.fixture(scope="module")
def drifted() -> Run:
    return simulate(
        small_config(
            events=30_000,
            days=DAYS,
            drift=Drift(start_day=DRIFT_DAY, relay_adopters=0.3, adopters=0.2),
        )
    )


def _after(events: pl.DataFrame) -> pl.Expr:
    start = datetime.combine(START, datetime.min.time(), tzinfo=UTC) + timedelta(days=DRIFT_DAY)
    return pl.col("ts") >= start


def test_new_scenario_appears_only_from_the_drift_start(drifted: Run) -> None:
    ev = drifted.events
    scam = ev.filter(pl.col("fraud_scenario") == Scenario.APP_SCAM.value)
    assert scam.height > 50
    assert scam.select(_after(ev).all()).item()
    before = ev.filter(~_after(ev) & pl.col("is_fraud"))
    assert before.height > 0 and Scenario.APP_SCAM.value not in set(before["fraud_scenario"])
    # the other scenarios go on after the start, in a smaller share
    after = ev.filter(_after(ev) & pl.col("is_fraud"))
    assert set(after["fraud_scenario"]) > {Scenario.APP_SCAM.value}
    share = scam.height / after.height
    assert 0.15 < share < 0.35


def test_app_scam_is_the_customers_own_session_paying_a_new_payee_a_lot(drifted: Run) -> None:
    ev = drifted.events
    scam = ev.filter(pl.col("fraud_scenario") == Scenario.APP_SCAM.value)
    assert set(scam["channel"]) == {"transfer"}
    # the customer's own device: one the account also uses in its genuine sessions
    assert not scam.filter(pl.col("ip").is_null() | pl.col("device_id").is_null()).height
    genuine = ev.filter(~pl.col("is_fraud") & pl.col("device_id").is_not_null())
    pairs = set(zip(genuine["account_id"], genuine["device_id"], strict=True))
    own = [(a, d) in pairs for a, d in zip(scam["account_id"], scam["device_id"], strict=True)]
    assert sum(own) / scam.height > 0.9
    # the victim's genuine login precedes the transfers and is not fraud
    logins = ev.filter(
        (pl.col("event_type") == "login")
        & pl.col("account_id").is_in(scam["account_id"].implode())
        & pl.col("device_id").is_in(scam["device_id"].implode())
    )
    assert logins.height and not logins["is_fraud"].any()
    genuine_transfers = ev.filter((pl.col("channel") == "transfer") & ~pl.col("is_fraud"))
    assert scam["amount"].median() > 2 * genuine_transfers["amount"].median()


def test_relay_shift_moves_genuine_logins_to_hosting_networks(drifted: Run) -> None:
    ev = drifted.events.filter((pl.col("event_type") == "login") & ~pl.col("is_fraud"))
    hosting = pl.col("asn").is_in(sorted(HOSTING_ASNS))
    before = ev.filter(~_after(ev)).select(hosting.mean()).item()
    after = ev.filter(_after(ev)).select(hosting.mean()).item()
    assert before < 0.03  # the few VPN users
    assert after > before + 0.1


def test_category_shift_sends_genuine_payments_to_the_category(drifted: Run) -> None:
    ev = drifted.events.filter(~pl.col("is_fraud") & (pl.col("channel") == "ecom"))
    crypto = pl.col("merchant_category") == "crypto_exchange"
    before = ev.filter(~_after(ev)).select(crypto.mean()).item()
    after = ev.filter(_after(ev)).select(crypto.mean()).item()
    assert after > 3 * before


def test_drift_is_deterministic_and_leaves_the_days_before_it_unchanged() -> None:
    config = small_config(events=8000, days=DAYS)
    plain = simulate(config)
    again = simulate(dataclasses.replace(config, drift=Drift(start_day=DRIFT_DAY)))
    twice = simulate(dataclasses.replace(config, drift=Drift(start_day=DRIFT_DAY)))
    assert _digest(again) == _digest(twice)

    # genuine customers behave exactly as without the drift until it starts (the fraud
    # plan is made for the whole run, so fraud, and the id counters that genuine new
    # devices and payees share with it, may move)
    def genuine(run: Run, day: int) -> pl.DataFrame:
        return (
            run.days[day]
            .events.filter(~pl.col("is_fraud"))
            .drop("event_id", "device_id", "payee_id")
        )

    for day in range(DRIFT_DAY - 1):
        assert genuine(plain, day).equals(genuine(again, day)), day
    assert not genuine(plain, DRIFT_DAY).equals(genuine(again, DRIFT_DAY))


def test_drift_config_refuses_nonsense() -> None:
    with pytest.raises(SimulatorConfigError):
        Drift(start_day=-1)
    with pytest.raises(SimulatorConfigError):
        Drift(start_day=1, category="grocery")  # not an online category
    with pytest.raises(SimulatorConfigError):
        Drift(start_day=1, relay_share=1.5)
    with pytest.raises(SimulatorConfigError):
        SimulatorConfig(days=5, drift=Drift(start_day=5))
    with pytest.raises(SimulatorConfigError):
        SimulatorConfig(scenario_mix={Scenario.APP_SCAM: 1.0})
