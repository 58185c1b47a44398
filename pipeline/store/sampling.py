"""Which events the store keeps: every alerted or labelled one, a sample of the rest.

The sample is decided by a hash of the event id, not by a random draw, so a replay of the
same topics (or a redelivery after a crash) keeps exactly the same events.
"""

from __future__ import annotations

import hashlib

from schemas import Decision, Score

_PERSON = b"fs-sample"
_SCALE = float(2**64)


def sample_point(event_id: str) -> float:
    """Where ``event_id`` falls in [0, 1): kept when below the sample rate."""
    digest = hashlib.blake2b(event_id.encode(), digest_size=8, person=_PERSON).digest()
    return int.from_bytes(digest, "little") / _SCALE


def keep_event(event_id: str, score: Score | None, labelled: bool, rate: float) -> bool:
    """True for alerted (review/block) and labelled events, and for ``rate`` of the others.

    An event without a score (the worker was behind or down) counts as allowed.
    """
    if rate >= 1.0 or labelled:
        return True
    if score is not None and score.decision is not Decision.ALLOW:
        return True
    return sample_point(event_id) < rate
