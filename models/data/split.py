"""Train / validation / test split by time (never random: fraud drifts, and random rows leak
the future of an account into its past)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from models.data.event_log import EventLog
from models.exceptions import TrainingDataError

DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)


@dataclass(frozen=True, slots=True)
class TimeSplit:
    """Events before ``train_end`` train, before ``val_end`` validate, the rest test."""

    start: datetime
    train_end: datetime
    val_end: datetime
    end: datetime

    def masks(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boolean row masks (train, val, test) for epoch-second times ``ts``."""
        t1, t2 = self.train_end.timestamp(), self.val_end.timestamp()
        train = ts < t1
        test = ts >= t2
        return train, ~train & ~test, test

    def to_dict(self) -> dict[str, str]:
        return {
            "start": self.start.isoformat(),
            "train_end": self.train_end.isoformat(),
            "val_end": self.val_end.isoformat(),
            "end": self.end.isoformat(),
        }


def time_split(
    log: EventLog, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
) -> TimeSplit:
    """Boundaries so that about ``fractions`` of the events fall in train / val / test.

    A boundary is an event time; all events at one instant land in the same part.
    """
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise TrainingDataError(
            f"split fractions must be three positive numbers summing to 1, got {fractions}"
        )
    ts = log.ts_seconds()
    n = len(ts)
    if n < 3:
        raise TrainingDataError(
            f"{log.source or 'the event log'} has {n} events; a split needs at least 3"
        )
    i1 = min(n - 2, max(1, round(n * fractions[0])))
    i2 = min(n - 1, max(i1 + 1, round(n * (fractions[0] + fractions[1]))))
    t1, t2 = float(ts[i1]), float(ts[i2])
    if not ts[0] < t1 < t2:
        raise TrainingDataError(
            f"{log.source or 'the event log'} spans too few distinct times for a time split"
        )

    def at(seconds: float) -> datetime:
        return datetime.fromtimestamp(seconds, tz=UTC)

    return TimeSplit(
        start=at(float(ts[0])), train_end=at(t1), val_end=at(t2), end=at(float(ts[-1]))
    )
