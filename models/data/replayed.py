"""An event log replayed through the shared feature code, with labels aligned to its tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from models.data.event_log import DEFAULT_LABEL_DELAY, EventLog
from models.exceptions import TrainingDataError
from models.features import Replay, replay

UNKNOWN = -1


@dataclass(frozen=True, slots=True)
class ReplayedLog:
    """Tokens of every event (``replay``) and, row for row, what is known about the event."""

    replay: Replay
    labels: np.ndarray  # int8: 1 fraud, 0 genuine, -1 unknown
    event_types: np.ndarray  # "transaction" / "login"
    scenarios: np.ndarray  # fraud scenario name or None
    ts: np.ndarray  # float64 epoch seconds
    channels: np.ndarray  # a transaction's channel ("pos", "ecom", …) or None

    def __len__(self) -> int:
        return len(self.replay)


def replay_log(
    log: EventLog,
    *,
    window: int,
    label_delay: timedelta = DEFAULT_LABEL_DELAY,
    partitions: int = 1,
    progress: Callable[[int], None] | None = None,
) -> ReplayedLog:
    """Replay ``log`` in time order; labels reach the features only after they arrive."""
    result = replay(
        log.views(),
        log.label_arrivals(label_delay),
        window=window,
        partitions=partitions,
        expected=len(log),
        progress=progress,
    )
    ids = log.events.get_column("event_id").to_list()
    if result.event_ids != ids:
        raise TrainingDataError("replay order differs from the event log order (unsorted log?)")
    coded = log.labels.cast(pl.Int8).fill_null(UNKNOWN).to_numpy().astype(np.int8)
    return ReplayedLog(
        replay=result,
        labels=coded,
        event_types=log.event_types(),
        scenarios=log.scenarios.to_numpy(),
        ts=result.ts,
        channels=log.channels(),
    )
