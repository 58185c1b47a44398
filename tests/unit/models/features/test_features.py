"""Shared state and token code: semantics, serialisation, and stream/offline parity."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np
import pytest

from models.features import (
    AccountProfile,
    EventView,
    LabelArrival,
    MerchantRisk,
    OnlineState,
    StateFormatError,
    merge_in_time,
    observe,
    profile_from_bytes,
    profile_to_bytes,
    reasons_for,
    replay,
)
from models.features.tokens import (
    CAT_INDEX,
    FAILED_EDGES,
    NUM_INDEX,
    RATIO_EDGES,
    RISK_EDGES,
    SPEED_EDGES,
    VELOCITY_EDGES,
    threshold_bucket,
)
from schemas import Login, Transaction
from schemas.features import CATEGORICAL, CONTINUOUS, FeatureSpec

T0 = 1_700_000_000.0


def tx(i: int, account: str = "a1", t: float = T0, **kw: object) -> EventView:
    base: dict = dict(
        amount=20.0,
        channel=1,
        category="grocery",
        merchant_id="m1",
        country="FR",
        lat=48.85,
        lon=2.35,
        device_id="d1",
    )
    base.update(kw)
    return EventView(f"e{i}", account, t, 1, **base)


def synthetic_log(n: int = 3000, seed: int = 7) -> tuple[list[EventView], list[LabelArrival]]:
    rng = random.Random(seed)
    events, t = [], T0
    for i in range(n):
        t = round(t + rng.expovariate(1 / 40), 3)
        account = f"a{rng.randrange(60)}"
        if rng.random() < 0.2:
            events.append(
                EventView(
                    f"e{i}",
                    account,
                    t,
                    2 + (rng.random() < 0.1),
                    device_id=f"d{rng.randrange(4)}",
                    country="FR",
                )
            )
        else:
            events.append(
                tx(
                    i,
                    account,
                    t,
                    amount=round(rng.lognormvariate(3, 1), 2),
                    channel=rng.randrange(1, 5),
                    merchant_id=f"m{rng.randrange(30)}",
                    country=rng.choice(["FR", "FR", "DE"]),
                    payee_id=rng.choice([None, "p1", f"p{i}"]),
                )
            )
    labels = sorted(
        (
            LabelArrival(e.event_id, e.ts + 3 * 86400, rng.random() < 0.2, e.merchant_id)
            for e in events[::25]
            if e.merchant_id
        ),
        key=lambda lab: lab.arrived,
    )
    return events, labels


def test_feature_spec_matches_token_shapes_and_hash_is_stable() -> None:
    cat, num = observe(AccountProfile(window=8), tx(0))
    assert cat.shape == (len(CATEGORICAL),) and num.shape == (len(CONTINUOUS),)
    assert FeatureSpec(window=8).hash() == FeatureSpec(window=32).hash()
    assert len(FeatureSpec().hash()) == 64


def test_codes_stay_within_cardinalities() -> None:
    events, labels = synthetic_log(2000)
    rep = replay(events, labels, window=16)
    for name, size in CATEGORICAL.items():
        column = rep.cat[:, CAT_INDEX[name]]
        assert column.max() < size, name
    assert np.isfinite(rep.num).all()


def test_new_device_country_and_amount_spike_are_flagged() -> None:
    profile = AccountProfile(window=8)
    for i in range(10):
        observe(profile, tx(i, t=T0 + i * 3600))
    cat, num = observe(
        profile,
        tx(10, t=T0 + 11 * 3600, amount=5000.0, device_id="d9", country="BR", lat=-23.5, lon=-46.6),
    )
    assert cat[CAT_INDEX["new_device"]] == 2
    assert cat[CAT_INDEX["new_country"]] == 2
    assert num[NUM_INDEX["foreign"]] == 1.0
    assert num[NUM_INDEX["amount_z"]] > 0.5
    assert cat[CAT_INDEX["travel_bucket"]] >= 5  # Paris to São Paulo in an hour
    reasons = reasons_for(cat, num)
    assert len(reasons) == 3 and "impossible_travel" in reasons
    calm_cat, _ = observe(
        profile, tx(11, t=T0 + 40 * 3600, country="BR", lat=-23.5, lon=-46.6, device_id="d9")
    )
    assert calm_cat[CAT_INDEX["new_device"]] == 1 and calm_cat[CAT_INDEX["new_country"]] == 1


def test_physical_travel_is_measured_between_terminals_only() -> None:
    """A login through a relay far away moves the account's IP location, not its terminal's:
    the next payment at home is fast travel from the login, not from the last terminal."""
    profile = AccountProfile(window=8)
    observe(profile, tx(0, t=T0))  # a payment in Paris
    relay = EventView("l1", "a1", T0 + 3600, 2, country="US", lat=39.0, lon=-77.5)
    login_cat, _ = observe(profile, relay)
    assert login_cat[CAT_INDEX["travel_bucket"]] >= 5  # Paris to Virginia in an hour
    assert login_cat[CAT_INDEX["physical_travel_bucket"]] == 0  # a login has no terminal
    cat, num = observe(profile, tx(2, t=T0 + 2 * 3600))  # back at the Paris terminal
    assert cat[CAT_INDEX["travel_bucket"]] >= 5
    assert cat[CAT_INDEX["physical_travel_bucket"]] == 1  # 0 km from the last terminal
    assert num[NUM_INDEX["log_physical_speed_kmh"]] == 0.0
    far_cat, far_num = observe(profile, tx(3, t=T0 + 3 * 3600, country="BR", lat=-23.5, lon=-46.6))
    assert far_cat[CAT_INDEX["physical_travel_bucket"]] >= 5  # Paris to São Paulo in an hour
    assert far_num[NUM_INDEX["log_physical_speed_kmh"]] > 0.8
    online_cat, _ = observe(profile, tx(4, t=T0 + 4 * 3600, channel=2, lat=48.85, lon=2.35))
    assert online_cat[CAT_INDEX["physical_travel_bucket"]] == 0  # online: no terminal
    assert profile.last_physical_geo == (-23.5, -46.6, T0 + 3 * 3600)
    assert profile_from_bytes(profile_to_bytes(profile)).last_physical_geo == (
        profile.last_physical_geo
    )


def test_failed_logins_decay_over_time() -> None:
    profile = AccountProfile(window=8)
    for i in range(6):
        observe(profile, EventView(f"l{i}", "a1", T0 + i, 3))
    cat, _ = observe(profile, tx(10, t=T0 + 10))
    assert cat[CAT_INDEX["failed_login_bucket"]] >= 4
    cat, _ = observe(profile, tx(11, t=T0 + 10 * 3600))
    assert cat[CAT_INDEX["failed_login_bucket"]] == 1


def test_merchant_risk_counts_each_label_once_and_corrects_changes() -> None:
    risk = MerchantRisk()
    assert risk.add_label("e1", True) and not risk.add_label("e1", True)
    assert (risk.frauds, risk.labels) == (1, 1)
    assert risk.add_label("e1", False)
    assert (risk.frauds, risk.labels) == (0, 1)
    risk.add_label("e2", True)
    assert 0.0 < risk.rate < 1.0


def test_labels_reach_features_only_after_arrival() -> None:
    events = [tx(i, f"a{i}", T0 + i * 60, merchant_id="m1") for i in range(10)]
    label = LabelArrival("e0", T0 + 5 * 60 + 1, True, "m1")
    rep = replay(events, [label], window=4)
    risk = rep.cat[:, CAT_INDEX["merchant_risk_bucket"]]
    assert (risk[:6] == 0).all() and (risk[6:] > 0).all()


def test_profile_bytes_round_trip_exactly() -> None:
    events, labels = synthetic_log(1500)
    state = OnlineState(window=16)
    for item in merge_in_time(events, labels):
        state.label(item) if isinstance(item, LabelArrival) else state.observe(item)
    for profile in list(state.accounts.values())[:20]:
        back = profile_from_bytes(profile_to_bytes(profile))
        for a, b in zip(profile.tokens(), back.tokens(), strict=True):
            assert np.array_equal(a, b)
        nxt = tx(99_999, t=T0 + 1e6)
        assert np.array_equal(observe(profile, nxt)[1], observe(back, nxt)[1])
    with pytest.raises(StateFormatError):
        profile_from_bytes(b"garbage")
    # a profile written for another feature set (another token size) is refused, not misread
    with pytest.raises(StateFormatError, match="magic"):
        profile_from_bytes(b"FSP1" + profile_to_bytes(profile)[4:])


def test_stream_and_offline_replay_give_identical_inputs() -> None:
    """Records through the stream path == rows through the offline path, event by event."""
    events, labels = synthetic_log(2500)
    offline = replay(events, labels, window=16)
    stream = OnlineState(window=16)
    for n, item in enumerate(merge_in_time(events, labels)):
        if isinstance(item, LabelArrival):
            stream.label(item)
            continue
        # the stream decodes a record and stores profiles as bytes between events
        record = _as_record(item)
        view = EventView.from_record(record)
        acc = item.account_id
        if acc in stream.accounts:
            stream.accounts[acc] = profile_from_bytes(profile_to_bytes(stream.accounts[acc]))
        stream.observe(view)
        if n % 7 == 0:
            i = offline.event_ids.index(item.event_id)
            cat, num, mask = offline.windows(np.array([i]))
            s_cat, s_num, s_mask = stream.accounts[acc].tokens()
            assert np.array_equal(cat[0], s_cat) and np.array_equal(mask[0], s_mask)
            assert np.array_equal(num[0], s_num)


def _as_record(view: EventView) -> Transaction | Login:
    ts = datetime.fromtimestamp(view.ts, tz=UTC)
    if view.amount is None:
        return Login(
            event_id=view.event_id,
            account_id=view.account_id,
            ts=ts,
            success=view.kind == 2,
            device_id=view.device_id,
            country=view.country,
        )
    channel = {1: "pos", 2: "ecom", 3: "atm", 4: "transfer"}[view.channel]
    return Transaction(
        event_id=view.event_id,
        account_id=view.account_id,
        ts=ts,
        amount=repr(view.amount),
        currency="EUR",
        merchant_id=view.merchant_id,
        merchant_category=view.category,
        channel=channel,
        country=view.country,
        lat=view.lat,
        lon=view.lon,
        device_id=view.device_id,
        payee_id=view.payee_id,
    )


@pytest.mark.parametrize(
    "edges", [RATIO_EDGES, RISK_EDGES, VELOCITY_EDGES, FAILED_EDGES, SPEED_EDGES]
)
def test_threshold_bucket_is_one_plus_the_edges_at_or_below_the_value(edges) -> None:
    assert list(edges) == sorted(edges)
    values = [-1.0, 0.0, *edges, *(e * 0.999 for e in edges), *(e * 1.001 for e in edges)]
    values += [edges[-1] * 10, float("inf"), float("nan")]
    for value in values:
        assert threshold_bucket(value, edges) == 1 + sum(value >= e for e in edges), value
