"""An event log made ready to train a classifier: labels checked, replayed through the
stream's feature code, split by time, refused when a period cannot train or check one.

Shared by every model kind, so each trains and is judged on the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from models.data.event_log import EventLog
from models.data.replayed import ReplayedLog, replay_log
from models.data.split import TimeSplit, time_split
from models.exceptions import TrainingDataError

#: (stage, done, total)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class TrainingSet:
    replayed: ReplayedLog
    y: np.ndarray  # 0/1 per event
    split: TimeSplit
    #: usable rows of each period (unlabelled events count as genuine or are left out)
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def training_set(
    event_log: EventLog,
    *,
    window: int,
    label_delay: timedelta,
    fractions: tuple[float, float, float],
    unlabeled_as_genuine: bool,
    report: Progress,
) -> TrainingSet:
    """Replay ``event_log`` and split it by time; refuse a log without labels, and a
    training period without both classes."""
    n = len(event_log)
    if not event_log.has_labels:
        raise TrainingDataError(
            f"{event_log.source} has no labels: give an is_fraud or label column "
            "(docs/MAPPING.md) or a feedback folder"
        )
    report("replay", 0, n)
    replayed = replay_log(
        event_log,
        window=window,
        label_delay=label_delay,
        progress=lambda done: report("replay", done, n),
    )
    report("replay", n, n)
    y = (replayed.labels == 1).astype(np.int8)
    usable = np.ones(n, dtype=bool) if unlabeled_as_genuine else replayed.labels >= 0
    split = time_split(event_log, fractions)
    train, val, test = (part & usable for part in split.masks(replayed.ts))
    frauds = int(y[train].sum())
    if frauds < 2 or frauds == int(train.sum()):
        raise TrainingDataError(
            f"the training period (before {split.train_end.isoformat()}) has {frauds} fraud "
            f"label(s) among {int(train.sum())} events; a classifier needs both classes "
            "— use a longer log or one with more labelled fraud"
        )
    return TrainingSet(replayed, y, split, train, val, test)
