"""Fraud score -> allow / review / block, with the model's per-event-type thresholds."""

from __future__ import annotations

from collections.abc import Mapping

from models.exceptions import ModelMismatchError
from schemas import Decision


def decide(
    fraud_score: float, event_type: str, thresholds: Mapping[str, Mapping[str, float]]
) -> Decision:
    """Block at or above ``block``, review at or above ``review``, else allow.

    ``thresholds`` is ``Scorer.thresholds``: event type -> ``{"review": x, "block": y}``.
    """
    try:
        cut = thresholds[event_type]
    except KeyError as err:
        raise ModelMismatchError(
            f"the model has no thresholds for event type {event_type!r} "
            f"(has: {', '.join(thresholds)}); retrain it on a log with such events"
        ) from err
    if fraud_score >= cut["block"]:
        return Decision.BLOCK
    if fraud_score >= cut["review"]:
        return Decision.REVIEW
    return Decision.ALLOW
