"""The worker's batch engine: dead letters, one Score per event, redelivery, state parity."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import numpy as np
import orjson

from models.features import MerchantRisk, OnlineState, profile_from_bytes
from models.features.events import EventView
from models.features.tokens import CAT_INDEX, NUM_INDEX
from pipeline.worker.engine import Engine, Incoming, ProfileCache
from pipeline.worker.readback import Emitted, dead_letter_key, read_from_ms
from schemas import (
    Channel,
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


def test_a_dead_letter_always_fits_under_the_payload_cap() -> None:
    """A 900 KB message must not make a dead letter too large for Kafka (its base64 would
    exceed the broker's 1 MB and the send would fail)."""
    eng = engine()
    huge = b'{"event_id": "' + b"x" * 900_000 + b'"}'
    small = b"{oops"
    batch = [
        Incoming(Topic.TRANSACTIONS.value, 2, 5, huge),
        Incoming(Topic.LOGINS.value, 0, 6, small),
    ]
    out = eng.score_batch(batch, LinearModel(), {}, {}, {})
    (_, cls, big_value), (_, _, small_value) = out.dead_letters
    assert cls == "too_large" and len(big_value) <= eng.limits.max_payload_bytes
    big = decode(DeadLetter, big_value, eng.limits)
    assert huge.startswith(base64.b64decode(big.raw)) and len(base64.b64decode(big.raw)) > 0
    assert f"of {len(huge)} bytes" in big.message and big.source_offset == 5
    assert base64.b64decode(decode(DeadLetter, small_value).raw) == small  # kept whole


def test_redelivered_events_are_not_scored_twice_nor_counted_twice() -> None:
    eng, model = engine(), LinearModel()
    batch = [msg(tx(i, minutes=i), i) for i in range(6)]
    accounts: dict[str, bytes] = {}
    activity: dict[str, bytes] = {}
    first = eng.score_batch(batch, model, accounts, activity, {})
    accounts.update(first.accounts)
    activity.update(first.activity)
    again = eng.score_batch(batch[3:], model, accounts, activity, {})
    assert again.scores == [] and again.redelivered == 3
    # written back unchanged (the changelog may have lost them in a crash)
    assert again.accounts == first.accounts and again.activity == first.activity
    assert {again.source[k] for k in ("a:a1", "m:0:m0", "m:0:m1", "m:0:m2")} <= {0, 1, 2}
    # a redelivery mixed with a new event of the same account: one write, with its source
    mixed = eng.score_batch([batch[5], msg(tx(6, minutes=6), 6)], model, accounts, activity, {})
    assert [decode(Score, v).event_id for _, v in mixed.scores] == ["tx-6"]
    assert profile_from_bytes(mixed.accounts["a1"]).seen == 7


def test_every_state_write_names_the_message_it_comes_from() -> None:
    """The worker writes each key to the changelog partition of its source message."""
    eng, model = engine(), LinearModel()
    first = [msg(tx(i, account=f"a{i % 3}", minutes=i), i) for i in range(6)]
    accounts: dict[str, bytes] = {}
    accounts.update(eng.score_batch(first, model, accounts, {}, {}).accounts)
    # after a restart: redeliveries (a0, a1) and new events (a1, a2) in one batch
    batch = [first[0], first[1], msg(tx(7, account="a1", minutes=7), 7),
             msg(tx(8, account="a2", minutes=8), 8)]  # fmt: skip
    out = eng.score_batch(batch, model, accounts, {}, {})
    assert set(out.accounts) == {"a0", "a1", "a2"}
    for prefix, writes in (("a:", out.accounts), ("m:", out.activity)):
        for key in writes:
            assert 0 <= out.source[prefix + key] < len(batch)


class PartitionedStore(dict[str, bytes]):
    """A store with one dict per partition, read through ``get_in`` like the worker's
    RocksDB view; a plain ``get`` would see nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.partitions: dict[int, dict[str, bytes]] = {}
        self.reads: list[tuple[int, str]] = []

    def get_in(self, partition: int, key: str) -> bytes | None:
        self.reads.append((partition, key))
        return self.partitions.get(partition, {}).get(key)

    def put_in(self, out_source: dict[str, int], batch: list[Incoming], prefix: str,
               writes: dict[str, bytes]) -> None:  # fmt: skip
        for key, value in writes.items():
            partition = batch[out_source[prefix + key]].partition
            self.partitions.setdefault(partition, {})[key] = value


def test_state_is_read_in_the_partition_of_the_event() -> None:
    eng, model = engine(), LinearModel()
    accounts, activity = PartitionedStore(), PartitionedStore()
    first = [msg(tx(i, account=f"a{i % 2}", minutes=i), i, partition=i % 2) for i in range(4)]
    out = eng.score_batch(first, model, accounts, activity, {})
    accounts.put_in(out.source, first, "a:", out.accounts)
    activity.put_in(out.source, first, "m:", out.activity)
    assert accounts.reads == [(0, "a0"), (1, "a1")]
    assert {k for _, k in activity.reads} == {"0:m0", "1:m1", "0:m2", "1:m0"}
    assert all(k.startswith(f"{p}:") for p, k in activity.reads)
    # the events come back: the profiles read from their partitions already hold them
    again = eng.score_batch(first, model, accounts, activity, {})
    assert again.scores == [] and again.redelivered == 4


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


def _decisions(scores: list[tuple[bytes, bytes]]) -> list[dict[str, object]]:
    """The Scores less what differs between two runs (timings)."""
    return [decode(Score, v).model_dump(exclude={"latency_ms", "scored_at"}) for _, v in scores]


def test_a_profile_cache_changes_no_output_and_spares_the_store_reads() -> None:
    records = [tx(i, account=f"a{i % 5}", minutes=i, amount=f"{10 + 7 * i}.00")
               for i in range(60)]  # fmt: skip
    plain = engine(), PartitionedStore(), PartitionedStore()
    cached = engine(), PartitionedStore(), PartitionedStore()
    cache = ProfileCache(capacity=3)  # fewer than the accounts: evictions, then misses
    for start in range(0, 60, 8):
        batch = [msg(r, start + i) for i, r in enumerate(records[start : start + 8])]
        outs = []
        for (eng, accounts, activity), kw in ((plain, {}), (cached, {"cache": cache})):
            out = eng.score_batch(batch, LinearModel(), accounts, activity, {}, **kw)
            accounts.put_in(out.source, batch, "a:", out.accounts)
            activity.put_in(out.source, batch, "m:", out.activity)
            outs.append(out)
        assert _decisions(outs[0].scores) == _decisions(outs[1].scores)
        assert outs[0].accounts == outs[1].accounts and outs[0].activity == outs[1].activity
    assert len(cache) == 3 and cache.hits > 0 and cache.misses > 0
    assert len(cached[1].reads) == cache.misses < len(plain[1].reads)


def test_the_profile_cache_serves_the_least_recently_used_last_and_forgets_on_failure() -> None:
    eng, accounts = engine(), PartitionedStore()
    cache = ProfileCache(capacity=2)
    first = [msg(tx(i, account=f"a{i}", minutes=i), i) for i in range(3)]
    out = eng.score_batch(first, LinearModel(), accounts, {}, {}, cache=cache)
    accounts.put_in(out.source, first, "a:", out.accounts)
    assert "a0" not in cache and "a2" in cache  # a0 was evicted

    class Broken(LinearModel):
        def score(self, cat: np.ndarray, num: np.ndarray, mask: np.ndarray):
            raise RuntimeError("model failed")

    try:
        eng.score_batch([msg(tx(9, account="a2", minutes=9), 9)], Broken(), accounts, {}, {},
                        cache=cache)  # fmt: skip
    except RuntimeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the model's failure was swallowed")
    # the failed batch moved a2's profile on in memory, the store did not: it is not
    # served again; the untouched a1 still is
    assert "a2" not in cache and "a1" in cache
    again = eng.score_batch([msg(tx(9, account="a2", minutes=9), 9)], LinearModel(), accounts,
                            {}, {}, cache=cache)  # fmt: skip
    assert profile_from_bytes(again.accounts["a2"]).seen == 2


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


def test_feedback_is_routed_by_merchant_and_malformed_feedback_dead_lettered() -> None:
    with_merchant = Feedback(event_id="tx-1", account_id="a1", ts=T0, label="fraud",
                             source="chargeback", merchant_id="m1")  # fmt: skip
    login_label = Feedback(event_id="lg-1", account_id="a1", ts=T0, label="genuine",
                           source="customer")  # fmt: skip
    bad = Incoming(Topic.FEEDBACK.value, 0, 5, b'{"label": "maybe"}', None)
    batch = [msg(with_merchant, 0), msg(login_label, 1), bad]
    out, labels = engine().route_feedback(batch)
    assert labels == [(b"m1", batch[0].value)]  # the record itself, keyed by its merchant
    assert [m.offset for m, _error, _value in out.dead_letters] == [5]
    # what the labels topic then carries updates the merchant's risk as before
    applied, _ = engine().apply_feedback([msg(with_merchant, 0)], {})
    assert orjson.loads(applied.risk["m1"])["frauds"] == 1


class RecordingModel(LinearModel):
    """The same model, keeping what it was given."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []
        self.inputs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def score(self, cat: np.ndarray, num: np.ndarray, mask: np.ndarray):
        self.shapes.append(cat.shape)
        self.inputs.append((cat, num, mask))
        return super().score(cat, num, mask)


class LastTokenModel(RecordingModel):
    """Saying it reads only the scored event (as the baseline does)."""

    positions = 1


def test_a_merchants_label_statistics_reach_the_scored_inputs_of_its_transactions() -> None:
    """What the worker's risk copy holds for a merchant is what its transactions are scored
    with; other merchants' transactions see no labels."""
    risky = MerchantRisk(frauds=3, labels=5)
    batch = [msg(tx(i, minutes=i), i) for i in range(6)]  # merchants m0, m1, m2
    model = RecordingModel()
    engine().score_batch(batch, model, {}, {}, {"m1": risky})
    ((cat, num, _),) = model.inputs
    bucket, rate = cat[:, -1, CAT_INDEX["merchant_risk_bucket"]], num[:, -1, NUM_INDEX[
        "merchant_fraud_rate"]]  # fmt: skip
    for i in range(6):
        if i % 3 == 1:
            assert bucket[i] > 0 and rate[i] == np.float32(risky.rate), i
        else:
            assert bucket[i] == 0 and rate[i] == 0.0, i


def test_a_model_that_reads_the_last_token_gets_only_that_and_the_same_scores() -> None:
    batch = [msg(tx(i, account=f"a{i % 3}", minutes=i), i) for i in range(12)]
    window = RecordingModel()
    full = engine().score_batch(batch, window, {}, {}, {})
    model = LastTokenModel()
    short = engine().score_batch(batch, model, {}, {}, {})
    assert model.shapes and all(shape[1] == 1 for shape in model.shapes)
    ((cat_w, num_w, _),), ((cat_1, num_1, mask_1),) = window.inputs, model.inputs
    assert cat_1.dtype == cat_w.dtype == np.int64 and num_1.dtype == np.float32
    assert np.array_equal(cat_1[:, 0], cat_w[:, -1]) and np.array_equal(num_1[:, 0], num_w[:, -1])
    assert mask_1.tolist() == [[1]] * len(batch)
    strip = ("latency_ms", "scored_at")
    assert [
        {k: v for k, v in orjson.loads(s).items() if k not in strip} for _, s in full.scores
    ] == [{k: v for k, v in orjson.loads(s).items() if k not in strip} for _, s in short.scores]
    assert full.accounts == short.accounts


def test_a_merchant_velocity_that_missed_a_redelivered_event_counts_it_once() -> None:
    """After a crash the account can hold an event whose merchant velocity (another key,
    another changelog partition) fell back to before it: the redelivery counts it there,
    and a velocity that did count it is left alone."""
    eng, model = engine(), LinearModel()
    batch = [msg(tx(i, minutes=i), i) for i in range(6)]  # merchants m0, m1, m2, m0, m1, m2
    crash_free = eng.score_batch(batch, model, {}, {}, {})
    before_last = eng.score_batch(batch[:5], model, {}, {}, {})
    assert before_last.activity["0:m2"] != crash_free.activity["0:m2"]
    # the account saw all six; m2's velocity went back to before tx-5
    stale = {**crash_free.activity, "0:m2": before_last.activity["0:m2"]}
    again = eng.score_batch(batch[5:], model, crash_free.accounts, stale, {})
    assert again.scores == [] and again.redelivered == 1
    assert again.activity["0:m2"] == crash_free.activity["0:m2"]
    # redelivered again: counted already, written back as it is
    twice = eng.score_batch(batch[5:], model, crash_free.accounts, crash_free.activity, {})
    assert twice.activity["0:m2"] == crash_free.activity["0:m2"]


def test_an_event_whose_score_was_sent_before_a_crash_is_applied_not_scored_again() -> None:
    """The Score reached the broker, the state did not (the worker died in between): the
    read-back says so, and the redelivered event moves the state without a second Score."""
    eng, model = engine(), LinearModel()
    batch = [msg(tx(i, minutes=i), i) for i in range(4)]
    bad = Incoming(Topic.TRANSACTIONS.value, 0, 4, b"{oops", None)
    clean = eng.score_batch([*batch, bad], model, {}, {}, {})
    sent = Emitted(
        until={(Topic.TRANSACTIONS.value, 0): 5},
        scores={"tx-0", "tx-1"},
        dead_letters={dead_letter_key(Topic.TRANSACTIONS.value, 0, 4)},
    )
    out = eng.score_batch([*batch, bad], model, {}, {}, {}, sent)
    assert [decode(Score, v).event_id for _, v in out.scores] == ["tx-2", "tx-3"]
    assert out.already_scored == ["tx-0", "tx-1"] and out.redelivered == 2
    assert out.dead_letters == []
    assert out.accounts == clean.accounts and out.activity == clean.activity  # state as if once
    # the same ids outside the suspect range (offsets past the end at assignment) are scored
    late = Emitted(until={(Topic.TRANSACTIONS.value, 0): 1}, scores={"tx-0", "tx-1"})
    out = eng.score_batch(batch, model, {}, {}, {}, late)
    assert [decode(Score, v).event_id for _, v in out.scores] == ["tx-1", "tx-2", "tx-3"]


def test_a_read_back_is_dropped_once_every_suspect_range_is_passed() -> None:
    sent = Emitted(until={("t", 0): 3, ("t", 1): 2}, scores={"x"}, dead_letters={b"t/0@1"})
    sent.passed([Incoming("t", 0, 1, None), Incoming("t", 1, 1, None)])
    assert sent.until == {("t", 0): 3} and sent.scores == {"x"}
    sent.passed([Incoming("t", 0, 2, None)])
    assert sent.until == {} and sent.scores == set() and sent.dead_letters == set()


def test_the_read_back_starts_at_the_oldest_uncommitted_input_but_not_too_far_back() -> None:
    now = 1_800_000_000.0
    # a restart right after the crash: the oldest uncommitted input, less the clock margin
    assert read_from_ms(int((now - 5) * 1000), now, 30, 900) == int((now - 35) * 1000)
    # a group hours behind: its Scores cannot be older than the lookback
    assert read_from_ms(int((now - 7200) * 1000), now, 30, 900) == int((now - 900) * 1000)


def test_a_lost_alert_is_sent_again_only_for_an_event_that_comes_back() -> None:
    sent = Emitted(until={("t", 0): 9}, scores={"a", "b"}, missing_alerts={"a": b"score-a"})
    assert sent.alerts_for(["a", "b"]) == [(b"a", b"score-a")]
    assert sent.alerts_for(["b", "c"]) == []


class FlatModel(LinearModel):
    """Scores every event 0.3; transfers have their own, lower, review cut-off."""

    thresholds: ClassVar = {
        **LinearModel.thresholds,
        "transaction/transfer": {"review": 0.2, "block": 0.9},
    }

    def score(self, cat: np.ndarray, num: np.ndarray, mask: np.ndarray):
        n = len(cat)
        return np.full(n, 0.3, dtype=np.float32), np.zeros(n, dtype=np.float32)


def test_a_transaction_is_decided_with_its_channels_cut_offs_where_the_model_has_them() -> None:
    pos = tx(1)
    transfer = tx(2, minutes=1).model_copy(update={"channel": Channel.TRANSFER})
    out = engine().score_batch([msg(pos, 0), msg(transfer, 1)], FlatModel(), {}, {}, {})
    decisions = {s.event_id: s.decision for s in (decode(Score, v) for _, v in out.scores)}
    assert decisions == {"tx-1": "allow", "tx-2": "review"}
    assert [k for k, _ in out.alerts] == [b"tx-2"]
