"""Decision thresholds chosen for alert budgets (what an analyst team can review)."""

from __future__ import annotations

import logging

import numpy as np

from models.manifest import EVENT_TYPES, Thresholds, threshold_key

log = logging.getLogger(__name__)

DEFAULT_REVIEW_RATE = 0.01
DEFAULT_BLOCK_RATE = 0.002


def threshold_for_alert_rate(scores: np.ndarray, rate: float) -> float:
    """The lowest cut-off at which at most ``rate`` of ``scores`` are >= it.

    Ties are never split: when the budget ends inside a run of equal scores the whole run
    stays below the cut-off. With a budget under one event, the cut-off is just above the
    highest score seen. A cut-off above a score is the next value *in the scores' dtype*, so
    it also holds when float32 scores are compared with it as a float32.
    """
    scores = np.asarray(scores)
    if len(scores) == 0:
        raise ValueError("no scores to choose a threshold from")
    dtype = scores.dtype if np.issubdtype(scores.dtype, np.floating) else np.dtype(np.float64)
    ordered = np.sort(scores.astype(dtype))[::-1]
    k = int(rate * len(ordered))
    if k == 0:
        return float(np.nextafter(ordered[0], dtype.type(np.inf)))
    cut = ordered[k - 1]
    if k < len(ordered) and ordered[k] == cut:
        return float(np.nextafter(cut, dtype.type(np.inf)))
    return float(cut)


def choose_thresholds(
    scores: np.ndarray,
    event_types: np.ndarray,
    review_rate: float = DEFAULT_REVIEW_RATE,
    block_rate: float = DEFAULT_BLOCK_RATE,
) -> dict[str, Thresholds]:
    """Per event type: review the top ``review_rate``, block the top ``block_rate``.

    A type absent from ``event_types`` gets the thresholds of all events together.
    """
    result: dict[str, Thresholds] = {}
    for event_type in EVENT_TYPES:
        chosen = scores[event_types == event_type]
        if len(chosen) == 0:
            log.warning("no validation events of type=%s, using all events", event_type)
            chosen = scores
        result[event_type] = Thresholds(
            review=threshold_for_alert_rate(chosen, review_rate),
            block=threshold_for_alert_rate(chosen, block_rate),
        )
    return result


def event_keys(event_types: np.ndarray, channels: np.ndarray) -> np.ndarray:
    """Per event: the key of its own thresholds (``transaction/ecom``, or its event type
    when it has no channel; :func:`models.manifest.threshold_key`)."""
    return np.array(
        [threshold_key(t, c) for t, c in zip(event_types, channels, strict=True)], dtype=object
    )


def event_cuts(
    event_types: np.ndarray,
    thresholds: dict[str, Thresholds],
    channels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(review, block) cut-off per event: its channel's where ``thresholds`` has that key
    (``transaction/ecom``), else its event type's; as the worker decides."""
    keys = np.asarray(event_types, dtype=object)
    if channels is not None:
        own = event_keys(event_types, channels)
        keys = np.where(np.isin(own, list(thresholds)), own, keys)
    review = np.array([thresholds[k].review for k in keys], dtype=np.float64)
    block = np.array([thresholds[k].block for k in keys], dtype=np.float64)
    return review, block


def alert_rates(
    scores: np.ndarray,
    event_types: np.ndarray,
    thresholds: dict[str, Thresholds],
    channels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (alerted, blocked) per event under ``thresholds`` (see :func:`event_cuts`)."""
    review, block = event_cuts(event_types, thresholds, channels)
    return scores >= review, scores >= block
