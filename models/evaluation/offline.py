"""Score an event log offline with a registered model, as the stream would have scored it.

The log is replayed in time order through the shared profile and encoding code
(:func:`models.data.replay_log`; labels reach merchant risk only after they arrive), every
event's window is scored in batches by the model, and the worker's decision rule
(:func:`models.serving.decide`) turns each fraud score into allow / review / block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from models.data import DEFAULT_LABEL_DELAY, EventLog, replay_log
from models.features import Replay
from models.serving import Scorer, decide

log = logging.getLogger(__name__)

#: progress callback: (stage, done, total); stages "replay" and "score"
Progress = Callable[[str, int, int], None]

#: events per ONNX call when scoring a whole log
DEFAULT_BATCH = 2048

#: columns of the scores file, in order
SCORE_COLUMNS: tuple[str, ...] = (
    "event_id",
    "ts",
    "account_id",
    "event_type",
    "fraud_score",
    "anomaly_score",
    "decision",
)


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def score_rows(
    scorer: Scorer,
    replay: Replay,
    rows: np.ndarray | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(fraud [N], anomaly [N]) of the replay's events ``rows`` (all when None), in order."""
    report = progress or _no_progress
    index = np.arange(len(replay)) if rows is None else np.asarray(rows)
    fraud = np.empty(len(index), dtype=np.float32)
    anomaly = np.empty(len(index), dtype=np.float32)
    report("score", 0, len(index))
    for start in range(0, len(index), batch_size):
        chunk = index[start : start + batch_size]
        fraud[start : start + len(chunk)], anomaly[start : start + len(chunk)] = scorer.score(
            *replay.windows(chunk)
        )
        report("score", start + len(chunk), len(index))
    return fraud, anomaly


def decisions_for(
    fraud: np.ndarray,
    event_types: np.ndarray,
    scorer: Scorer,
    channels: np.ndarray | None = None,
) -> np.ndarray:
    """allow / review / block per event, by the worker's rule and the model's thresholds."""
    thresholds = scorer.thresholds
    kinds = [str(t) for t in event_types]
    where = [None] * len(kinds) if channels is None else [c or None for c in channels]
    return np.array(
        [
            decide(float(f), t, thresholds, c).value
            for f, t, c in zip(fraud, kinds, where, strict=True)
        ],
        dtype=object,
    )


@dataclass(frozen=True, slots=True)
class OfflineScores:
    """One row per event of the log, in replay (time) order."""

    version: str
    frame: pl.DataFrame  # SCORE_COLUMNS

    def __len__(self) -> int:
        return self.frame.height

    def write_csv(self, path: Path) -> Path:
        """Write the scores (ts as ISO-8601 UTC); the parent folder is created."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_csv(path)
        return path


def score_log(
    event_log: EventLog,
    scorer: Scorer,
    *,
    label_delay: timedelta = DEFAULT_LABEL_DELAY,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> OfflineScores:
    """Replay ``event_log`` through the shared feature code and score every event."""
    report = progress or _no_progress
    n = len(event_log)
    report("replay", 0, n)
    replayed = replay_log(
        event_log,
        window=scorer.window,
        label_delay=label_delay,
        progress=lambda done: report("replay", done, n),
    )
    report("replay", n, n)
    fraud, anomaly = score_rows(scorer, replayed.replay, batch_size=batch_size, progress=report)
    decisions = decisions_for(fraud, replayed.event_types, scorer, replayed.channels)
    frame = event_log.events.select("event_id", "ts", "account_id", "event_type").with_columns(
        pl.Series("fraud_score", fraud),
        pl.Series("anomaly_score", anomaly),
        pl.Series("decision", decisions, dtype=pl.String),
    )
    counts = dict(zip(*np.unique(decisions, return_counts=True), strict=True)) if n else {}
    log.info(
        "log scored version=%s events=%d review=%d block=%d",
        scorer.version,
        n,
        counts.get("review", 0),
        counts.get("block", 0),
    )
    return OfflineScores(version=scorer.version, frame=frame.select(SCORE_COLUMNS))
