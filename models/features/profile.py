"""Per-account and per-merchant state, and the pure functions that update it.

Velocity windows are exponentially decayed counters (time constant = the window): O(1)
state per window, no event list to keep, and a smooth approximation of "count in the last
hour / day / week / month". Recently seen devices, countries, merchants and payees are small
bounded LRU lists, which give the new-device / new-country / ... flags.

Everything here is plain Python and numpy (no torch, no faust): the stream calls it on
table state, the offline replay on in-memory state, and both get the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from schemas.features import CATEGORICAL, CONTINUOUS

HOUR = 3600.0
DAY = 24 * HOUR
ACCOUNT_WINDOWS = (HOUR, DAY, 7 * DAY, 30 * DAY)
AMOUNT_WINDOWS = (DAY, 30 * DAY)
MERCHANT_WINDOWS = (HOUR, DAY)

MAX_DEVICES = 16
MAX_COUNTRIES = 16
MAX_MERCHANTS = 64
MAX_PAYEES = 32
MAX_RECENT_IDS = 64  # event ids remembered per account to recognise redeliveries
#: ... and per merchant velocity key: a redelivery replays the uncommitted events, about
#: a second of traffic, so this covers a merchant with 64 transactions a second per partition
MAX_MERCHANT_RECENT_IDS = 64
AMOUNT_EWM_ALPHA = 0.05

N_CAT = len(CATEGORICAL)
N_NUM = len(CONTINUOUS)


def decay(values: list[float], windows: tuple[float, ...], elapsed: float) -> None:
    """Decay each counter in place by ``exp(-elapsed / window)``."""
    if elapsed <= 0:
        return
    for i, window in enumerate(windows):
        values[i] *= math.exp(-elapsed / window)


def remember(items: list[str], value: str | None, limit: int) -> bool | None:
    """Move ``value`` to the most-recent end of an LRU list; True if it was new.

    Returns None when ``value`` is missing (the flag is then "not available").
    """
    if value is None:
        return None
    try:
        items.remove(value)
        new = False
    except ValueError:
        new = True
        if len(items) >= limit:
            del items[0]
    items.append(value)
    return new


@dataclass(slots=True)
class AccountProfile:
    """State of one account: aggregates plus the ring of its last ``window`` tokens."""

    window: int
    first_ts: float | None = None
    last_ts: float | None = None
    counts: list[float] = field(default_factory=lambda: [0.0] * len(ACCOUNT_WINDOWS))
    amounts: list[float] = field(default_factory=lambda: [0.0] * len(AMOUNT_WINDOWS))
    failed_logins: float = 0.0  # decayed with a one-hour constant
    last_login_ts: float | None = None
    home_country: str | None = None
    last_geo: tuple[float, float, float] | None = None  # lat, lon, ts
    last_physical_geo: tuple[float, float, float] | None = None  # of a card-present payment
    amount_n: int = 0
    amount_mean: float = 0.0
    amount_var: float = 1.0
    devices: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    merchants: list[str] = field(default_factory=list)
    payees: list[str] = field(default_factory=list)
    recent_ids: list[str] = field(default_factory=list)  # last event ids, oldest first
    seen: int = 0  # events observed; ring slot of the next token = seen % window
    cat: np.ndarray = field(default=None)  # type: ignore[assignment]
    num: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.cat is None:
            self.cat = np.zeros((self.window, N_CAT), dtype=np.uint8)
        if self.num is None:
            self.num = np.zeros((self.window, N_NUM), dtype=np.float32)

    def has_seen(self, event_id: str) -> bool:
        """True when this event was already folded in (a redelivery after a restart)."""
        return event_id in self.recent_ids

    def push(self, cat: np.ndarray, num: np.ndarray) -> None:
        slot = self.seen % self.window
        self.cat[slot] = cat
        self.num[slot] = num
        self.seen += 1

    def tokens(self, positions: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The last ``positions`` tokens (default: the whole window), oldest first and
        left-padded: (cat, num, mask). A model that reads only the scored event asks for 1."""
        k = self.window if positions is None else min(max(positions, 1), self.window)
        cat = np.zeros((k, N_CAT), dtype=np.int64)
        num = np.zeros((k, N_NUM), dtype=np.float32)
        mask = np.zeros(k, dtype=np.int64)
        self.tokens_into(cat, num, mask)
        return cat, num, mask

    def tokens_into(self, cat: np.ndarray, num: np.ndarray, mask: np.ndarray) -> None:
        """Write the last ``len(mask)`` tokens into zeroed ``[k, Fc]``, ``[k, Fn]``, ``[k]``
        arrays (rows of a batch), as :meth:`tokens` returns them: the stream fills its
        batch in place instead of stacking one window per event."""
        k = min(mask.shape[0], self.window)
        n = min(self.seen, k)
        if not n:
            return
        start = (self.seen - n) % self.window
        first = min(n, self.window - start)  # tokens before the ring wraps
        pad = mask.shape[0] - n
        cat[pad : pad + first] = self.cat[start : start + first]
        num[pad : pad + first] = self.num[start : start + first]
        if first < n:
            cat[pad + first :] = self.cat[: n - first]
            num[pad + first :] = self.num[: n - first]
        mask[pad:] = 1


@dataclass(slots=True)
class MerchantActivity:
    """Transaction velocity of a merchant (decayed counters) and the last transactions it
    counted, so that a redelivered one is not counted twice."""

    last_ts: float | None = None
    counts: list[float] = field(default_factory=lambda: [0.0] * len(MERCHANT_WINDOWS))
    recent_ids: list[str] = field(default_factory=list)  # last event ids, oldest first

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.recent_ids

    def observe(self, ts: float, event_id: str | None = None) -> tuple[float, float]:
        """Counts before this transaction, then count it (once: a transaction it already
        counted leaves the counters alone)."""
        if event_id is not None and self.has_seen(event_id):
            return (self.counts[0], self.counts[1])
        if self.last_ts is not None:
            decay(self.counts, MERCHANT_WINDOWS, ts - self.last_ts)
        before = (self.counts[0], self.counts[1])
        self.counts = [c + 1.0 for c in self.counts]
        self.last_ts = ts if self.last_ts is None else max(ts, self.last_ts)
        remember(self.recent_ids, event_id, MAX_MERCHANT_RECENT_IDS)
        return before


MAX_LABELLED = 512
RISK_PRIOR_LABELS = 5.0
RISK_PRIOR_RATE = 0.01


@dataclass(slots=True)
class MerchantRisk:
    """Confirmed-fraud statistics of a merchant, from labels that have arrived.

    A label counts once per event: a repeated label is ignored, a changed one is corrected.
    """

    frauds: int = 0
    labels: int = 0
    labelled: dict[str, bool] = field(default_factory=dict)  # event_id -> is fraud

    def add_label(self, event_id: str, is_fraud: bool) -> bool:
        """Record a label; returns False when it changes nothing (a duplicate)."""
        previous = self.labelled.get(event_id)
        if previous is is_fraud:
            return False
        if previous is None:
            self.labels += 1
            if len(self.labelled) >= MAX_LABELLED:
                del self.labelled[next(iter(self.labelled))]
        else:
            self.frauds -= int(previous)
        self.frauds += int(is_fraud)
        self.labelled[event_id] = is_fraud
        return True

    @property
    def rate(self) -> float:
        return (self.frauds + RISK_PRIOR_RATE * RISK_PRIOR_LABELS) / (
            self.labels + RISK_PRIOR_LABELS
        )
