"""One micro-batch through decode → state → encode → score → decide.

Kept free of Faust so it can be driven by the agents, by tests and by benchmarks alike. The
state stores are plain mutable mappings of bytes (Faust tables in the worker, dicts in
tests); the engine reads each key at most once per batch and hands back the new values, so
the caller decides when they are written (after the outputs are acknowledged).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from models.features import (
    AccountProfile,
    EventView,
    MerchantActivity,
    MerchantRisk,
    activity_from_bytes,
    activity_to_bytes,
    observe,
    profile_from_bytes,
    profile_to_bytes,
    reasons_for,
    risk_from_bytes,
    risk_to_bytes,
)
from models.features.profile import N_CAT, N_NUM
from models.features.replay import scale_counts
from models.serving import Scorer, decide
from schemas import (
    Decision,
    DecodeLimits,
    Feedback,
    InvalidRecordError,
    Label,
    Login,
    Score,
    Topic,
    Transaction,
    dead_letter,
    decode,
    encode,
)

log = logging.getLogger(__name__)

EVENT_TYPES: dict[str, type[Transaction] | type[Login]] = {
    Topic.TRANSACTIONS.value: Transaction,
    Topic.LOGINS.value: Login,
}


@dataclass(frozen=True, slots=True)
class Incoming:
    """One consumed message and its coordinates."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    timestamp: float | None = None  # broker/producer timestamp, epoch seconds


class AlreadySent(Protocol):
    """Outputs a previous run sent for events that come back (see pipeline.worker.readback)."""

    def scored(self, msg: Incoming, event_id: str) -> bool: ...

    def dead_lettered(self, msg: Incoming) -> bool: ...


def _reader(store: Mapping[str, bytes]) -> Callable[[int, str], bytes | None]:
    """``read(partition, key)`` of a state store: the store's own ``get_in`` where it has
    one (a Faust table's view reads that partition's database only), else ``get``."""
    get_in = getattr(store, "get_in", None)
    if get_in is not None:
        return get_in  # type: ignore[no-any-return]
    get = store.get
    return lambda _partition, key: get(key)


class ProfileCache:
    """The account profiles of the accounts scored last, as objects, least recently used
    evicted first: a hit skips the store read and the parse (about a quarter of the state
    update).

    It holds only what the store holds. A batch takes its accounts' profiles out
    (:meth:`take`) and puts them back once it has produced their new values
    (:meth:`put_all`), which its caller then either writes to the store or stops the
    process: a batch that fails half-way leaves none of the profiles it changed behind.
    The caller empties it whenever partitions move (another worker may have changed the
    accounts, and a table recovery rewrites the store).
    """

    __slots__ = ("_items", "capacity", "hits", "misses")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, AccountProfile] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def take(self, account_id: str) -> AccountProfile | None:
        profile = self._items.pop(account_id, None)
        if profile is None:
            self.misses += 1
        else:
            self.hits += 1
        return profile

    def put_all(self, profiles: Mapping[str, AccountProfile]) -> None:
        items = self._items
        for account_id, profile in profiles.items():
            items[account_id] = profile
            items.move_to_end(account_id)
        while len(items) > self.capacity:
            items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._items

    def __len__(self) -> int:
        return len(self._items)


@dataclass(slots=True)
class Outcome:
    """What a batch produced: messages to send and state to write."""

    scores: list[tuple[bytes, bytes]] = field(default_factory=list)  # (key, value)
    alerts: list[tuple[bytes, bytes]] = field(default_factory=list)
    dead_letters: list[tuple[Incoming, str, bytes]] = field(default_factory=list)
    accounts: dict[str, bytes] = field(default_factory=dict)
    activity: dict[str, bytes] = field(default_factory=dict)
    #: state key -> index in the batch of the last message that changed it (its changelog
    #: record belongs to that message's partition)
    source: dict[str, int] = field(default_factory=dict)
    risk: dict[str, bytes] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    #: events back from before a restart, not scored again: the state held them already,
    #: or (``already_scored``) it did not but their Score was on the broker
    redelivered: int = 0
    already_scored: list[str] = field(default_factory=list)  # their event ids
    lags: list[float] = field(default_factory=list)  # produce → decision, seconds
    seconds: dict[str, float] = field(default_factory=dict)  # time per stage


#: bytes of a dead letter besides its raw base64: the reason (4096 characters, up to 4 bytes
#: each in UTF-8), the coordinates, the keys
DEAD_LETTER_OVERHEAD = 17 * 1024


def activity_key(partition: int, merchant_id: str) -> str:
    """Merchant velocity is kept per source partition (see docs/ARCHITECTURE.md)."""
    return f"{partition}:{merchant_id}"


class Engine:
    """Scores micro-batches against mapping-like state stores."""

    def __init__(
        self,
        *,
        window: int,
        partitions: int,
        limits: DecodeLimits,
        threshold_overrides: Mapping[str, float] | None = None,
    ) -> None:
        self.window = window
        self.partitions = partitions
        self.limits = limits
        self.overrides = dict(threshold_overrides or {})

    def thresholds(self, model: Scorer) -> dict[str, dict[str, float]]:
        """The model's thresholds per event type (and channel), the settings' overrides on top."""
        return {t: {**cut, **self.overrides} for t, cut in model.thresholds.items()}

    # ------------------------------------------------------------------ events
    def score_batch(
        self,
        batch: Sequence[Incoming],
        model: Scorer,
        accounts: Mapping[str, bytes],
        activity: Mapping[str, bytes],
        risk: Mapping[str, MerchantRisk],
        sent: AlreadySent | None = None,
        cache: ProfileCache | None = None,
    ) -> Outcome:
        """Score ``batch``; ``risk`` holds the merchants' label statistics as objects (the
        worker's :class:`~pipeline.worker.mirror.RiskMirror`); ``cache`` (optional) serves
        and receives the account profiles, which the caller must then write to ``accounts``
        (``Outcome.accounts``)."""
        out = Outcome()
        t0 = time.perf_counter()
        read_account, read_activity = _reader(accounts), _reader(activity)
        profiles: dict[str, AccountProfile] = {}
        merchants: dict[str, MerchantActivity] = {}
        rows: list[tuple[Incoming, Transaction | Login, np.ndarray, np.ndarray]] = []
        # the baseline reads 1 token: don't build 32 (see Scorer); each scored event's
        # window is copied into its row of the batch as it is scored
        positions = max(1, min(getattr(model, "positions", model.window), self.window))
        cats = np.zeros((len(batch), positions, N_CAT), dtype=np.int64)
        nums = np.zeros((len(batch), positions, N_NUM), dtype=np.float32)
        masks = np.zeros((len(batch), positions), dtype=np.int64)
        decode_s = 0.0
        for index, msg in enumerate(batch):
            d0 = time.perf_counter()
            try:
                record = decode(EVENT_TYPES[msg.topic], msg.value, self.limits)
            except InvalidRecordError as err:
                if sent is None or not sent.dead_lettered(msg):
                    out.dead_letters.append((msg, err.error_class, self._dead_letter(msg, err)))
                continue
            finally:
                decode_s += time.perf_counter() - d0
            profile = profiles.get(record.account_id)
            if profile is None and cache is not None:
                profile = cache.take(record.account_id)
                if profile is not None:
                    profiles[record.account_id] = profile
            if profile is None:
                stored = read_account(msg.partition, record.account_id)
                profile = (
                    profile_from_bytes(stored) if stored else AccountProfile(window=self.window)
                )
                profiles[record.account_id] = profile
            if profile.has_seen(record.event_id):
                out.redelivered += 1
                self._refresh(out, index, msg, record, merchants, read_activity)
                continue
            view = EventView.from_record(record)
            counts = merchant_risk = None
            if view.merchant_id is not None:
                key = activity_key(msg.partition, view.merchant_id)
                merchant = merchants.get(key)
                if merchant is None:
                    raw = read_activity(msg.partition, key)
                    merchant = activity_from_bytes(raw) if raw else MerchantActivity()
                    merchants[key] = merchant
                counts = scale_counts(merchant.observe(view.ts, view.event_id), self.partitions)
                out.source["m:" + key] = index
                merchant_risk = risk.get(view.merchant_id)
            cat, num = observe(profile, view, counts, merchant_risk)
            out.source["a:" + record.account_id] = index
            if sent is not None and sent.scored(msg, record.event_id):
                out.redelivered += 1  # its Score reached the broker, the state did not
                out.already_scored.append(record.event_id)
                continue
            row = len(rows)
            profile.tokens_into(cats[row], nums[row], masks[row])
            rows.append((msg, record, cat, num))
        t1 = time.perf_counter()
        out.seconds["decode"] = decode_s
        out.seconds["state_encode"] = t1 - t0 - decode_s
        if rows:
            n_rows = len(rows)
            fraud, anomaly = model.score(cats[:n_rows], nums[:n_rows], masks[:n_rows])
        t2 = time.perf_counter()
        out.seconds["score"] = t2 - t1
        now = datetime.now(UTC)
        now_s = now.timestamp()
        latency_ms = (t2 - t0) * 1000.0
        thresholds = self.thresholds(model) if rows else {}
        for i, (msg, record, cat, num) in enumerate(rows):
            event_type = "transaction" if isinstance(record, Transaction) else "login"
            channel = record.channel.value if isinstance(record, Transaction) else None
            decision = decide(float(fraud[i]), event_type, thresholds, channel)
            score = Score(
                event_id=record.event_id,
                account_id=record.account_id,
                event_type=event_type,
                fraud_score=min(1.0, max(0.0, float(fraud[i]))),
                anomaly_score=float(anomaly[i]),
                decision=decision,
                reasons=reasons_for(cat, num) if decision is not Decision.ALLOW else [],
                model_version=model.version,
                latency_ms=latency_ms,
                scored_at=now,
                event_ts=record.ts,
            )
            value = encode(score)
            key = record.event_id.encode()
            out.scores.append((key, value))
            if decision is not Decision.ALLOW:
                out.alerts.append((key, value))
            out.decisions[decision.value] = out.decisions.get(decision.value, 0) + 1
            if msg.timestamp is not None:
                out.lags.append(max(0.0, now_s - msg.timestamp))
        out.accounts = {
            k: profile_to_bytes(p) for k, p in profiles.items() if "a:" + k in out.source
        }
        if cache is not None:
            cache.put_all(profiles)
        out.activity = {k: activity_to_bytes(a) for k, a in merchants.items()}
        out.seconds["decide"] = time.perf_counter() - t2
        return out

    @staticmethod
    def _refresh(
        out: Outcome,
        index: int,
        msg: Incoming,
        record: Transaction | Login,
        merchants: dict[str, MerchantActivity],
        read_activity: Callable[[int, str], bytes | None],
    ) -> None:
        """A redelivered event the account already holds: not scored, not counted again.

        After a crash the local store can hold writes whose changelog records were lost with
        the process, and a restart can bring a key back to an older value from its
        changelog; the offsets were not committed, so the events come back. The account's
        state is written back unchanged (so that the changelog holds it). The merchant's
        velocity, another key on another changelog partition, may have missed the event:
        it counts the transaction if it has not yet, else it too is written back.
        """
        out.source.setdefault("a:" + record.account_id, index)
        merchant_id = getattr(record, "merchant_id", None)
        if merchant_id is None:
            return
        key = activity_key(msg.partition, merchant_id)
        merchant = merchants.get(key)
        if merchant is None:
            raw = read_activity(msg.partition, key)
            merchant = merchants[key] = activity_from_bytes(raw) if raw else MerchantActivity()
        merchant.observe(EventView.from_record(record).ts, record.event_id)
        out.source.setdefault("m:" + key, index)

    # ---------------------------------------------------------------- feedback
    def route_feedback(
        self, batch: Sequence[Incoming], sent: AlreadySent | None = None
    ) -> tuple[Outcome, list[tuple[bytes, bytes]]]:
        """Feedback as it arrives (keyed by account): invalid records are dead-lettered, and
        each label naming a merchant is returned as (merchant key, the record's bytes), to
        be sent to the merchant-keyed labels topic that :meth:`apply_feedback` reads."""
        out = Outcome()
        labels = [
            (fb.merchant_id.encode(), msg.value)
            for _index, msg, fb in self._feedback(batch, out, sent)
            if fb.merchant_id is not None and msg.value is not None
        ]
        return out, labels

    def _feedback(
        self, batch: Sequence[Incoming], out: Outcome, sent: AlreadySent | None
    ) -> Iterator[tuple[int, Incoming, Feedback]]:
        """The valid feedback records of ``batch`` (index, message, record); the invalid
        ones are dead-lettered into ``out``, once (``sent`` knows those already sent)."""
        for index, msg in enumerate(batch):
            try:
                fb = decode(Feedback, msg.value, self.limits)
            except InvalidRecordError as err:
                if sent is None or not sent.dead_lettered(msg):
                    out.dead_letters.append((msg, err.error_class, self._dead_letter(msg, err)))
                continue
            yield index, msg, fb

    def apply_feedback(
        self, batch: Sequence[Incoming], risk: Mapping[str, bytes], sent: AlreadySent | None = None
    ) -> tuple[Outcome, list[Feedback]]:
        """Labels update merchant risk (counted once per event); invalid ones are dead-lettered.

        In the worker ``batch`` comes from the merchant-keyed labels topic, so that one
        worker alone reads and writes each merchant's statistics (no lost update between
        two workers)."""
        out = Outcome()
        updated: dict[str, MerchantRisk] = {}
        valid: list[Feedback] = []
        for index, _msg, fb in self._feedback(batch, out, sent):
            valid.append(fb)
            if fb.merchant_id is None:
                continue
            state = updated.get(fb.merchant_id)
            if state is None:
                raw = risk.get(fb.merchant_id)
                state = risk_from_bytes(raw) if raw else MerchantRisk()
                updated[fb.merchant_id] = state
            state.add_label(fb.event_id, fb.label is Label.FRAUD)
            out.source["r:" + fb.merchant_id] = index
        out.risk = {k: risk_to_bytes(v) for k, v in updated.items()}
        return out, valid

    def raw_cap(self) -> int:
        """Raw bytes a dead letter keeps: with its base64 (4/3) plus the reason and the
        coordinates it stays under the payload cap, so a dead letter always fits in a Kafka
        message and decodes with the same limits as the events."""
        return max(0, (self.limits.max_payload_bytes - DEAD_LETTER_OVERHEAD) * 3 // 4)

    def _dead_letter(self, msg: Incoming, err: InvalidRecordError) -> bytes:
        log.debug(
            "dead_letter topic=%s partition=%s offset=%s reason=%r",
            msg.topic, msg.partition, msg.offset, err.reason,
        )  # fmt: skip
        raw, cap = msg.value, self.raw_cap()
        if raw is not None and len(raw) > cap:
            # the coordinates point at the whole message for as long as the topic keeps it
            note = f" [raw truncated to the first {cap} of {len(raw)} bytes]"
            err = InvalidRecordError(
                err.reason[: 4096 - len(note)] + note, error_class=err.error_class
            )
            raw = raw[:cap]
        return encode(
            dead_letter(raw, err, topic=msg.topic, partition=msg.partition, offset=msg.offset)
        )
