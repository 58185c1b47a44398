"""A challenger's thresholds set to the champion's false-alarm rate, channel by channel.

A fresh model's thresholds alert a fixed share of each event type's validation events. Kept
for a challenger, that budget is shared by all channels of a type: when the challenger has
learnt a new pattern in one channel (scams by transfer, say) its alerts move there from the
others (card-present payments), and the old patterns of those channels lose recall even
where the challenger ranks them as well as the champion. Each review queue also changes
size at promotion.

Here the challenger instead gets, in every channel of an event type (``transaction/pos``)
with enough of the champion's false alarms on the recent window to measure, the cut-offs
at which it alerts the same share of that channel's genuine events as the champion does
there: review and block apart. The share is capped at the alert budget the champion's
thresholds were chosen for (1 % review, 0.2 % block by default): drift often made the
champion raise far more false alarms somewhere, and the challenger should not inherit
those. Each event type keeps the challenger's own cut-offs (its alert budget on the newest
validation data; they decide the type's other channels and events without a channel) under
the default policy, ``channel-fpr``; ``champion-fpr`` sets them the same way as the
channels, over all events of the type. On `bench continual` the latter spent the capped
budget on false alarms the challenger had learnt to avoid (logins from hosting networks,
2.1-5.4 % of genuine logins for the champion) and lost old patterns with the transformer
(docs/CONTINUAL.md). The promotion rule compares both models at the cut-offs they would
serve with.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from models.card import CARD_FILE
from models.evaluation.thresholds import event_cuts, event_keys, threshold_for_alert_rate
from models.manifest import Thresholds
from models.registry import Registry
from models.retrain.compare import ScoredSet
from models.retrain.config import CHAMPION_FPR


@dataclass(frozen=True)
class KeyCalibration:
    """One threshold key: what the champion did on the recent window, the challenger's cuts."""

    genuine: int
    champion_reviewed: int  # genuine events at or above the champion's review cut-off
    champion_blocked: int
    reviewed: int  # the challenger's: the champion's, at most the review budget's share
    blocked: int
    thresholds: Thresholds | None  # None: too few false alarms, the challenger's own kept

    def to_dict(self) -> dict[str, Any]:
        return {
            "genuine": self.genuine,
            "champion_reviewed": self.champion_reviewed,
            "champion_blocked": self.champion_blocked,
            "reviewed": self.reviewed,
            "blocked": self.blocked,
            "review": None if self.thresholds is None else self.thresholds.review,
            "block": None if self.thresholds is None else self.thresholds.block,
        }


def _cut_for_count(scores: np.ndarray, count: int) -> float:
    """The lowest cut-off at which at most ``count`` of ``scores`` are at or above it."""
    # half an event over the count: the rate times the length floors back to ``count``
    return threshold_for_alert_rate(scores, (count + 0.5) / len(scores))


def groups(scored: ScoredSet, event_types: bool = True) -> dict[str, np.ndarray]:
    """Threshold key -> the events it covers: each channel of an event type, and each event
    type too when ``event_types``."""
    types = np.asarray(scored.event_types, dtype=object)
    out = {}
    if event_types:
        out = {str(t): types == t for t in sorted(set(types.tolist()), key=str)}
    if scored.channels is not None:
        keys = event_keys(types, scored.channels)
        for key in sorted(set(keys.tolist()) - set(types.tolist())):  # events with a channel
            out[key] = keys == key
    return out


def champion_fpr_thresholds(
    scored: ScoredSet,
    champion: Mapping[str, Thresholds],
    challenger: Mapping[str, Thresholds],
    min_false_alarms: int,
    budget: tuple[float, float] = (1.0, 1.0),
    event_types: bool = True,
) -> tuple[dict[str, Thresholds], dict[str, KeyCalibration]]:
    """The challenger's thresholds with each key's false-alarm share set to the champion's on
    ``scored`` (both models' scores), and what was measured per key.

    ``budget`` (review, block) caps the shares: a champion that drift made alert more than
    its thresholds were chosen for (their alert budget) does not pass the excess on. A key
    is set when its review share holds at least ``min_false_alarms`` genuine events (fewer
    give too coarse a share); its block cut-off is never below the review cut-off. Without
    ``event_types`` only channels are set: each event type keeps the challenger's own
    cut-offs (its alert budget on the newest validation data), used by its other channels.
    """
    genuine = scored.y == 0
    review, block = event_cuts(scored.event_types, dict(champion), scored.channels)
    old = scored.scores["champion"]
    new = scored.scores["challenger"]
    result = dict(challenger)
    report: dict[str, KeyCalibration] = {}
    for key, inside in groups(scored, event_types).items():
        mask = inside & genuine
        n = int(mask.sum())
        champion_reviewed = int((old[mask] >= review[mask]).sum())
        champion_blocked = int((old[mask] >= block[mask]).sum())
        reviewed = min(champion_reviewed, math.floor(budget[0] * n))
        blocked = min(champion_blocked, math.floor(budget[1] * n), reviewed)
        cut = None
        if reviewed >= min_false_alarms:
            scores = new[mask]
            at_review = _cut_for_count(scores, reviewed)
            at_block = max(at_review, _cut_for_count(scores, blocked))
            cut = Thresholds(review=at_review, block=at_block)
            result[key] = cut
        report[key] = KeyCalibration(n, champion_reviewed, champion_blocked, reviewed, blocked,
                                     cut)  # fmt: skip
    return result, report


def _card_section(source: str, keys: Mapping[str, KeyCalibration]) -> str:
    lines = [
        "## Thresholds set to the champion's false-alarm share per channel",
        "",
        f"Weights and scores as {source}; the cut-offs below replace its own where set.",
        "",
        "| key | genuine events | champion reviewed / blocked | challenger reviews / blocks | "
        "review ≥ | block ≥ |",
        "|---|---|---|---|---|---|",
    ]
    for key, k in keys.items():
        cuts = (
            "own | own"
            if k.thresholds is None
            else f"{k.thresholds.review:.6g} | {k.thresholds.block:.6g}"
        )
        lines.append(
            f"| {key} | {k.genuine} | {k.champion_reviewed} / {k.champion_blocked} | "
            f"{k.reviewed} / {k.blocked} | {cuts} |"
        )
    return "\n".join(lines) + "\n"


def register_calibrated(
    registry: Registry,
    version: str,
    thresholds: Mapping[str, Thresholds],
    keys: Mapping[str, KeyCalibration],
    policy: str = CHAMPION_FPR,
) -> str:
    """Register ``version``'s files again with ``thresholds``: a new version (registered
    versions never change), whose manifest names the one it was calibrated from."""
    manifest = registry.manifest(version)
    params = {
        **manifest.params,
        "thresholds_from": {
            "version": version,
            "policy": policy,
            "keys": {key: k.to_dict() for key, k in keys.items()},
        },
    }
    calibrated = manifest.model_copy(
        update={"thresholds": dict(thresholds), "params": params, "created_at": datetime.now(UTC)}
    )
    with tempfile.TemporaryDirectory(prefix="fraudstream-calibrated-") as scratch:
        build = Path(scratch) / "build"
        shutil.copytree(registry.path(version), build)
        card = build / CARD_FILE
        if card.is_file():
            text = card.read_text(encoding="utf-8").rstrip("\n")
            card.write_text(text + "\n\n" + _card_section(version, keys), encoding="utf-8")
        return registry.register(build, calibrated)
