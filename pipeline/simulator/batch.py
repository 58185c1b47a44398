"""Columnar batches of generated rows: numpy arrays of integer codes, cheap to concatenate.

Strings are only materialised when a batch becomes a polars frame (``frames.py``): account,
merchant, country … are codes into the population's vocabularies, devices, IPs and payees
are numbers formatted on the way out. A code of -1 (or NaN for floats) is a missing value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np

KIND_TRANSACTION, KIND_LOGIN = 0, 1
NOT_FRAUD = -1

SOURCE_ANALYST, SOURCE_CHARGEBACK, SOURCE_CUSTOMER = range(3)
LABEL_FRAUD, LABEL_GENUINE = range(2)


class Batch:
    """Equal-length named numpy columns; subclasses declare the columns and their defaults."""

    SPEC: ClassVar[dict[str, tuple[Any, Any]]] = {}
    __slots__ = ("cols",)

    def __init__(self, cols: dict[str, np.ndarray]) -> None:
        self.cols = cols

    def __len__(self) -> int:
        return len(self.cols["ts"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name]

    @classmethod
    def build(cls, n: int, **values: Any) -> Self:
        """A batch of ``n`` rows; a column not given is filled with its default."""
        unknown = set(values) - set(cls.SPEC)
        if unknown:
            raise KeyError(f"unknown columns {sorted(unknown)} for {cls.__name__}")
        cols: dict[str, np.ndarray] = {}
        for name, (dtype, default) in cls.SPEC.items():
            value = values.get(name, default)
            if np.ndim(value) == 0:
                cols[name] = np.full(n, value, dtype=dtype)
            else:
                arr = np.asarray(value, dtype=dtype)
                if len(arr) != n:
                    raise ValueError(f"column {name} has {len(arr)} rows, expected {n}")
                cols[name] = arr
        return cls(cols)

    @classmethod
    def empty(cls) -> Self:
        return cls.build(0)

    @classmethod
    def concat(cls, batches: Sequence[Batch]) -> Self:
        batches = [b for b in batches if len(b)]
        if not batches:
            return cls.empty()
        if len(batches) == 1:
            return cls(dict(batches[0].cols))
        return cls({name: np.concatenate([b.cols[name] for b in batches]) for name in cls.SPEC})

    def take(self, index: np.ndarray) -> Self:
        return type(self)({name: col[index] for name, col in self.cols.items()})

    def sorted_by_time(self) -> Self:
        """Rows in time order; ties keep their order (stable, hence deterministic)."""
        ts = self.cols["ts"]
        if len(ts) < 2 or bool(np.all(ts[1:] >= ts[:-1])):
            return self
        return self.take(np.argsort(ts, kind="stable"))

    def split_at(self, ts_us: int) -> tuple[Self, Self]:
        """(rows before ``ts_us``, rows at or after it); both keep their order."""
        before = self.cols["ts"] < ts_us
        return self.take(before), self.take(~before)


class EventBatch(Batch):
    """Transactions and logins, with the ground truth and what labelling needs."""

    SPEC: ClassVar[dict[str, tuple[Any, Any]]] = {
        "kind": (np.int8, KIND_TRANSACTION),
        "ts": (np.int64, 0),  # microseconds since the epoch, UTC
        "account": (np.int32, -1),
        "card": (np.int32, -1),
        "amount": (np.float64, np.nan),
        "currency": (np.int16, -1),
        "merchant": (np.int32, -1),
        "category": (np.int16, -1),
        "channel": (np.int8, -1),
        "country": (np.int16, -1),
        "lat": (np.float64, np.nan),
        "lon": (np.float64, np.nan),
        "device": (np.int64, -1),
        "ip": (np.int64, -1),
        "payee": (np.int64, -1),
        "success": (np.int8, -1),
        "asn": (np.int64, -1),
        "user_agent": (np.int16, -1),
        "auth_method": (np.int8, -1),
        "failure_reason": (np.int8, -1),
        # ground truth and bookkeeping, never a record field
        "scenario": (np.int8, NOT_FRAUD),
        "label_delay": (np.int64, -1),  # microseconds until the fraud label arrives
        "noisy": (np.bool_, False),  # genuine but unusual: what analysts get to review
        "seq": (np.int64, -1),  # event number, the event id
    }


class FeedbackBatch(Batch):
    """Late labels on earlier events."""

    SPEC: ClassVar[dict[str, tuple[Any, Any]]] = {
        "ts": (np.int64, 0),
        "event_kind": (np.int8, KIND_TRANSACTION),
        "event_seq": (np.int64, -1),
        "account": (np.int32, -1),
        "merchant": (np.int32, -1),  # of the labelled transaction; -1 for a login
        "label": (np.int8, LABEL_FRAUD),
        "source": (np.int8, SOURCE_CHARGEBACK),
        "analyst": (np.int16, -1),
        "note": (np.int8, -1),
        "scenario": (np.int8, NOT_FRAUD),  # the fraud's type on a fraud label
    }
