"""Offline replay: an event log in time order through the same state code as the stream.

Events and label arrivals are merged on one clock: a label reaches the merchant-risk state
only once its arrival time has passed, exactly as feedback reaches a worker. The result
keeps one token per event plus, per event, the indices of the tokens of its window, so a
1M-event log costs ~150 MB instead of K copies of every token.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.features.events import EventView
from models.features.profile import (
    N_CAT,
    N_NUM,
    AccountProfile,
    MerchantActivity,
    MerchantRisk,
)
from models.features.tokens import observe


@dataclass(frozen=True, slots=True)
class LabelArrival:
    event_id: str
    arrived: float  # epoch seconds
    is_fraud: bool
    merchant_id: str | None = None


@dataclass(slots=True)
class OnlineState:
    """All the state a worker keeps, in memory: what the offline replay drives.

    The stream keeps the same objects in Faust tables; this class is the reference
    semantics of one partition's worth of state (``partitions`` scales merchant velocity
    the way a worker that sees 1/P of a merchant's traffic does).
    """

    window: int
    partitions: int = 1
    accounts: dict[str, AccountProfile] = field(default_factory=dict)
    activity: dict[str, MerchantActivity] = field(default_factory=dict)
    risk: dict[str, MerchantRisk] = field(default_factory=dict)

    def account(self, account_id: str) -> AccountProfile:
        profile = self.accounts.get(account_id)
        if profile is None:
            profile = self.accounts[account_id] = AccountProfile(window=self.window)
        return profile

    def observe(self, event: EventView) -> tuple[np.ndarray, np.ndarray]:
        counts = risk = None
        if event.merchant_id is not None:
            activity = self.activity.setdefault(event.merchant_id, MerchantActivity())
            counts = scale_counts(activity.observe(event.ts, event.event_id), self.partitions)
            risk = self.risk.get(event.merchant_id)
        return observe(self.account(event.account_id), event, counts, risk)

    def label(self, arrival: LabelArrival) -> None:
        if arrival.merchant_id is not None:
            self.risk.setdefault(arrival.merchant_id, MerchantRisk()).add_label(
                arrival.event_id, arrival.is_fraud
            )


def scale_counts(counts: tuple[float, float], partitions: int) -> tuple[float, float]:
    """A worker sees ~1/P of a merchant's transactions: estimate the merchant's total."""
    return (counts[0] * partitions, counts[1] * partitions)


@dataclass(slots=True)
class Replay:
    """Tokens of every event, in replay (time) order, and each event's window."""

    window: int
    event_ids: list[str]
    ts: np.ndarray  # float64 epoch seconds
    cat: np.ndarray  # [N, n_cat] uint8
    num: np.ndarray  # [N, n_num] float32
    history: np.ndarray  # [N, window] int32 indices into cat/num, oldest first, -1 = pad

    def __len__(self) -> int:
        return len(self.event_ids)

    def windows(self, rows: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Model inputs for the given events: (cat [B,K,F] int64, num [B,K,F], mask [B,K])."""
        idx = self.history[rows]
        mask = (idx >= 0).astype(np.int64)
        safe = np.where(idx >= 0, idx, 0)
        cat = self.cat[safe].astype(np.int64) * mask[..., None]
        num = self.num[safe] * mask[..., None].astype(np.float32)
        return cat, num, mask

    def last_tokens(self) -> np.ndarray:
        """The event's own token as one float row per event (for tree models)."""
        return np.concatenate([self.cat.astype(np.float32), self.num], axis=1)


def merge_in_time(
    events: Iterable[EventView], labels: Iterable[LabelArrival]
) -> Iterator[EventView | LabelArrival]:
    """Events and label arrivals on one clock; a label arriving at t precedes events at t.

    Both inputs must already be sorted by time.
    """
    pending = iter(labels)
    nxt = next(pending, None)
    for event in events:
        while nxt is not None and nxt.arrived <= event.ts:
            yield nxt
            nxt = next(pending, None)
        yield event
    while nxt is not None:
        yield nxt
        nxt = next(pending, None)


def replay(
    events: Iterable[EventView],
    labels: Iterable[LabelArrival] = (),
    *,
    window: int,
    partitions: int = 1,
    expected: int = 0,
    progress: Any = None,
) -> Replay:
    """Replay time-sorted events (and label arrivals) through the shared state code.

    ``progress``, when given, is called with the number of events done so far every 10,000.
    """
    state = OnlineState(window=window, partitions=partitions)
    cap = max(expected, 1024)
    cat = np.zeros((cap, N_CAT), dtype=np.uint8)
    num = np.zeros((cap, N_NUM), dtype=np.float32)
    ts = np.zeros(cap, dtype=np.float64)
    history = np.full((cap, window), -1, dtype=np.int32)
    ids: list[str] = []
    recent: dict[str, list[int]] = {}
    n = 0
    for item in merge_in_time(events, labels):
        if isinstance(item, LabelArrival):
            state.label(item)
            continue
        if n == cap:
            cap *= 2
            cat = np.resize(cat, (cap, N_CAT))
            num = np.resize(num, (cap, N_NUM))
            ts = np.resize(ts, cap)
            history = np.concatenate([history, np.full_like(history, -1)])
        cat[n], num[n] = state.observe(item)
        ts[n] = item.ts
        ids.append(item.event_id)
        chain = recent.setdefault(item.account_id, [])
        chain.append(n)
        if len(chain) > window:
            del chain[0]
        history[n, window - len(chain) :] = chain
        n += 1
        if progress is not None and n % 10_000 == 0:
            progress(n)
    return Replay(window, ids, ts[:n].copy(), cat[:n].copy(), num[:n].copy(), history[:n].copy())
