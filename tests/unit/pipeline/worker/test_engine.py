"""The worker's batch engine: dead letters, one Score per event, redelivery, state parity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

import numpy as np
import orjson

from models.features import OnlineState, profile_from_bytes
from models.features.events import EventView
from pipeline.worker.engine import Engine, Incoming
from schemas import (
    DeadLetter,
    DecodeLimits,
    Feedback,
    Login,
    Score,
    Topic,
    Transaction,
    decode,
    encode,
)


class LinearModel:
    """A deterministic model over the last token: enough to exercise the engine."""

    version = "test-1"
    window = 8
    thresholds: ClassVar = {
        "transaction": {"review": 0.5, "block": 0.9},
        "login": {"review": 0.5, "block": 0.9},
    }

    def score(self, cat: np.ndarray, num: np.ndarray, mask: np.ndarray):
        last = num[:, -1, :]
        fraud = 1 / (1 + np.exp(-(last[:, 1] * 10 - 2)))  # amount_z
        return fraud.astype(np.float32), last[:, 0].astype(np.float32)


T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def tx(i: int, account: str = "a1", amount: str = "20.00", minutes: int = 0) -> Transaction:
    return Transaction(
        event_id=f"tx-{i}", account_id=account, ts=T0 + timedelta(minutes=minutes),
        amount=amount, currency="EUR", merchant_id=f"m{i % 3}", channel="pos", country="FR",
    )  # fmt: skip


def msg(record: Transaction | Login | Feedback, offset: int, partition: int = 0) -> Incoming:
    return Incoming(record.topic, partition, offset, encode(record), T0.timestamp())


def engine() -> Engine:
    return Engine(window=8, partitions=1, limits=DecodeLimits())


def test_valid_events_get_one_score_and_bad_ones_a_dead_letter() -> None:
    records = [tx(i, minutes=i) for i in range(10)] + [tx(10, amount="9000.00", minutes=11)]
    batch = [msg(r, i) for i, r in enumerate(records)]
    batch.insert(3, Incoming(Topic.TRANSACTIONS.value, 0, 99, b"{oops", None))
    batch.insert(5, Incoming(Topic.LOGINS.value, 1, 7, orjson.dumps({"event_id": "x"}), None))
    out = engine().score_batch(batch, LinearModel(), {}, {}, {})
    scores = [decode(Score, v) for _, v in out.scores]
    assert [s.event_id for s in scores] == [r.event_id for r in records]
    assert all(s.model_version == "test-1" and s.latency_ms >= 0 for s in scores)
    assert scores[-1].decision == "block" and scores[-1].reasons
    assert scores[-1].reasons[0] == "amount_far_above_usual"
    assert [k for k, _ in out.alerts] == [b"tx-10"]
    dls = [decode(DeadLetter, v) for _, _, v in out.dead_letters]
    assert [(d.source_topic, d.source_partition, d.source_offset) for d in dls] == [
        (Topic.TRANSACTIONS.value, 0, 99),
        (Topic.LOGINS.value, 1, 7),
    ]
    assert dls[0].error_class == "not_json" and "success" in dls[1].message


def test_redelivered_events_are_not_scored_twice_nor_counted_twice() -> None:
    eng, model = engine(), LinearModel()
    batch = [msg(tx(i, minutes=i), i) for i in range(6)]
    accounts: dict[str, bytes] = {}
    first = eng.score_batch(batch, model, accounts, {}, {})
    accounts.update(first.accounts)
    again = eng.score_batch(batch[3:], model, accounts, {}, {})
    assert again.scores == [] and again.redelivered == 3
    assert again.accounts["a1"] == first.accounts["a1"]


def test_engine_state_equals_offline_replay() -> None:
    records = [tx(i, account=f"a{i % 4}", minutes=i) for i in range(40)]
    eng, accounts, activity = engine(), {}, {}
    for start in range(0, 40, 7):  # several batches, state written back in between
        out = eng.score_batch(
            [msg(r, i) for i, r in enumerate(records[start : start + 7])],
            LinearModel(), accounts, activity, {},
        )  # fmt: skip
        accounts.update(out.accounts)
        activity.update(out.activity)
    reference = OnlineState(window=8)
    for r in records:
        reference.observe(EventView.from_record(r))
    for account, profile in reference.accounts.items():
        got = profile_from_bytes(accounts[account])
        for a, b in zip(profile.tokens(), got.tokens(), strict=True):
            assert np.array_equal(a, b)


def test_feedback_updates_merchant_risk_once_per_event() -> None:
    fb = Feedback(event_id="tx-1", account_id="a1", ts=T0, label="fraud", source="chargeback",
                  merchant_id="m1")  # fmt: skip
    out, valid = engine().apply_feedback([msg(fb, 0), msg(fb, 1)], {})
    assert len(valid) == 2
    state = orjson.loads(out.risk["m1"])
    assert (state["frauds"], state["labels"]) == (1, 1)
    bad = Incoming(Topic.FEEDBACK.value, 0, 5, b'{"label": "maybe"}', None)
    out, valid = engine().apply_feedback([bad], {})
    assert valid == [] and len(out.dead_letters) == 1
