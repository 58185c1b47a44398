"""Fraud score -> allow / review / block, with the model's thresholds for the event."""

from __future__ import annotations

from collections.abc import Mapping

from models.exceptions import ModelMismatchError
from models.manifest import threshold_key
from schemas import Decision


def thresholds_for(
    thresholds: Mapping[str, Mapping[str, float]], event_type: str, channel: str | None = None
) -> Mapping[str, float]:
    """The cut-offs of an event: its channel's (``transaction/ecom``) if the model has them,
    else its event type's."""
    if channel:
        cut = thresholds.get(threshold_key(event_type, channel))
        if cut is not None:
            return cut
    try:
        return thresholds[event_type]
    except KeyError as err:
        raise ModelMismatchError(
            f"the model has no thresholds for event type {event_type!r} "
            f"(has: {', '.join(thresholds)}); retrain it on a log with such events"
        ) from err


def decide(
    fraud_score: float,
    event_type: str,
    thresholds: Mapping[str, Mapping[str, float]],
    channel: str | None = None,
) -> Decision:
    """Block at or above ``block``, review at or above ``review``, else allow.

    ``thresholds`` is ``Scorer.thresholds``: key -> ``{"review": x, "block": y}``, the key an
    event type or a channel of one (:func:`models.manifest.threshold_key`).
    """
    cut = thresholds_for(thresholds, event_type, channel)
    if fraud_score >= cut["block"]:
        return Decision.BLOCK
    if fraud_score >= cut["review"]:
        return Decision.REVIEW
    return Decision.ALLOW
