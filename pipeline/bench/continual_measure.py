"""Champion and challenger on period 3, at equal recall: what the continual loop bought.

The recall to match is the champion's own: its recall at its review thresholds on period 3
(what the bank runs). Each model's single cut-off is set to reach that recall (the lowest
score among its top frauds, as :func:`models.retrain.compare.fpr_at_recall` does), and
both are compared there: false-positive rate (overall, on the shifted segment, elsewhere),
recall per scenario, alert rate. At equal overall recall a model that catches more of one
pattern must catch fewer of the others, so recall per scenario is also measured at equal
alert rate (the champion's alert rate at that point: the same analyst workload). Average
precision is threshold-free.

One cut for every event makes the channels compete for one budget: alerts the challenger
spends on the new pattern (transfers) are taken from card-present payments, say, even when
it ranks the old patterns in their own channel as well as the champion does. So recall per
scenario is also measured at each channel's false-positive rate: in every channel (a
transaction's channel, or the event type of an event without one) each model gets the cut
at which it alerts the share of that channel's genuine events that the champion alerts at
the equal-recall point. Overall, both then alert the same genuine events' share too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score

from models.data import EventLog, replay_log
from models.evaluation import score_rows
from models.evaluation.scenarios import scenario_recall
from models.evaluation.thresholds import event_cuts, threshold_for_alert_rate
from models.manifest import Thresholds
from models.retrain.compare import ScoredSet, compare, thresholds_of
from models.serving import OnnxScorer

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ScoredPeriod3:
    scored: ScoredSet
    segment: np.ndarray  # bool per scored event: the shifted segment
    #: per scored event: a transaction's channel, or the event type of an event without one
    channel: np.ndarray | None = None


def score_models(
    history: EventLog,
    start: datetime,
    scorers: dict[str, OnnxScorer],
    label_delay: timedelta,
    segment: pl.Expr,
    progress: Progress | None = None,
) -> ScoredPeriod3:
    """Replay ``history`` once; every model scores the events at or after ``start``."""
    n = len(history)
    replayed = replay_log(
        history,
        window=max(s.window for s in scorers.values()),
        label_delay=label_delay,
        progress=None if progress is None else (lambda done: progress("replay", done, n)),
    )
    rows = np.flatnonzero(replayed.ts >= start.timestamp())
    scores = {}
    for role, scorer in scorers.items():
        report = (
            None if progress is None else (lambda s, d, t, r=role: progress(f"score {r}", d, t))
        )
        scores[role] = score_rows(scorer, replayed.replay, rows, progress=report)[0]
    inside = history.events.select(segment.alias("s")).get_column("s").to_numpy()[rows]
    types, channels = replayed.event_types[rows], replayed.channels[rows]
    # an event without a channel (a login) counts as one of its event type's
    channel = np.array([c or t for t, c in zip(types, channels, strict=True)], dtype=object)
    scored = ScoredSet(
        name="period3",
        y=(replayed.labels[rows] == 1).astype(np.int8),
        event_types=types,
        scenarios=replayed.scenarios[rows],
        scores=scores,
        channels=channels,
    )
    return ScoredPeriod3(scored, inside.astype(bool), channel)


def cut_at_recall(y: np.ndarray, score: np.ndarray, recall: float) -> float:
    """The highest cut-off whose recall is at least ``recall`` (score >= cut is alerted)."""
    fraud = np.sort(score[y == 1])[::-1]
    k = min(len(fraud), max(1, math.ceil(recall * len(fraud) - 1e-9)))
    return float(fraud[k - 1])


def cut_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float) -> float:
    """The lowest cut-off at which at most ``fpr`` of the genuine events are alerted."""
    return threshold_for_alert_rate(score[y == 0], fpr)


def _rate(mask: np.ndarray, where: np.ndarray) -> float | None:
    n = int(where.sum())
    return float((mask & where).sum() / n) if n else None


def operating_point(
    period: ScoredPeriod3, role: str, cut: float | np.ndarray, shown: Any = None
) -> dict[str, Any]:
    """Everything measured for ``role`` when events scoring ``cut`` (one for all, or one per
    event) or more are alerted; ``shown`` is what the report names as the cut (``cut``)."""
    s = period.scored
    score = s.scores[role]
    alerted = score >= cut
    genuine = s.y == 0
    per_scenario = scenario_recall(s.y, score, s.scenarios, cut)
    return {
        "cut": cut if shown is None else shown,
        "recall": float(alerted[s.y == 1].mean()),
        "alert_rate": float(alerted.mean()),
        "false_positives": int((alerted & genuine).sum()),
        "fpr": _rate(alerted, genuine),
        "fpr_segment": _rate(alerted, genuine & period.segment),
        "fpr_elsewhere": _rate(alerted, genuine & ~period.segment),
        "scenarios": {
            name: {"frauds": r.frauds, "caught": r.caught, "recall": r.recall}
            for name, r in per_scenario.items()
        },
    }


def channel_fprs(period: ScoredPeriod3, role: str, cut: float) -> dict[str, float]:
    """Per channel: the share of its genuine events that ``role`` alerts at ``cut``."""
    s, channel = period.scored, period.channel
    assert channel is not None
    genuine = s.y == 0
    alerted = s.scores[role] >= cut
    return {
        str(name): _rate(alerted, genuine & (channel == name)) or 0.0
        for name in sorted(set(channel.tolist()), key=str)
    }


def at_channel_fprs(period: ScoredPeriod3, role: str, fprs: dict[str, float]) -> dict[str, Any]:
    """``role`` with one cut per channel: the lowest at which it alerts at most that
    channel's share ``fprs`` of the channel's genuine events (every event of a channel
    without genuine events: no false alarm to count there)."""
    s, channel = period.scored, period.channel
    assert channel is not None
    score = s.scores[role]
    cut = np.full(len(score), -np.inf)
    cuts = {}
    for name, fpr in fprs.items():
        inside = channel == name
        if (s.y[inside] == 0).any():
            cuts[name] = cut_at_fpr(s.y[inside], score[inside], fpr)
            cut[inside] = cuts[name]
    return operating_point(period, role, cut, shown=cuts)


def review_cuts(scored: ScoredSet, scorer: OnnxScorer) -> np.ndarray:
    """Per event: the model's review cut-off for it, as the worker decides."""
    return event_cuts(scored.event_types, thresholds_of(scorer), scored.channels)[0]


def measure(
    period: ScoredPeriod3,
    scorers: dict[str, OnnxScorer],
    fixed_recall: float,
    trained: dict[str, Thresholds] | None = None,
) -> dict[str, Any]:
    """Both models at the champion's recall, at the champion's alert rate and false-positive
    rate there, at ``fixed_recall`` and at their own thresholds; ``trained``: the
    challenger's cut-offs before the retrain set them per channel (measured beside)."""
    s = period.scored
    own = compare(s, scorers)  # each model at its own review thresholds
    target = own.champion.recall
    at_recall = {role: operating_point(period, role, cut_at_recall(s.y, score, target))
                 for role, score in s.scores.items()}  # fmt: skip
    budget = at_recall["champion"]["alert_rate"]
    body: dict[str, Any] = {
        "events": len(s.y),
        "frauds": s.frauds,
        "segment_genuine_events": int(((s.y == 0) & period.segment).sum()),
        "average_precision": {
            role: float(average_precision_score(s.y, score)) for role, score in s.scores.items()
        },
        "at_own_thresholds": {
            "champion": own.champion.to_dict(),
            "challenger": own.challenger.to_dict(),
        },
        # what the bank runs: each model's review cut-offs (per channel where it has them)
        "own_thresholds": {
            role: operating_point(period, role, review_cuts(s, scorers[role]), shown="own")
            for role in s.scores
        },
        "equal_recall": {"recall": target, **at_recall},
        "equal_alert_rate": {
            "alert_rate": budget,
            **{
                role: operating_point(period, role, threshold_for_alert_rate(score, budget))
                for role, score in s.scores.items()
            },
        },
        # the same false-alarm cost: how much of each pattern a model still ranks above
        # the genuine events, whatever the new pattern takes of an alert budget
        "equal_fpr": {
            "fpr": at_recall["champion"]["fpr"],
            **{
                role: operating_point(
                    period, role, cut_at_fpr(s.y, score, at_recall["champion"]["fpr"] or 0.0)
                )
                for role, score in s.scores.items()
            },
        },
        "fixed_recall": {
            "recall": fixed_recall,
            **{
                role: operating_point(period, role, cut_at_recall(s.y, score, fixed_recall))
                for role, score in s.scores.items()
            },
        },
    }
    if trained is not None:
        cut = event_cuts(s.event_types, trained, s.channels)[0]
        body["own_thresholds"]["challenger_as_trained"] = operating_point(
            period, "challenger", cut, shown="as trained"
        )
    if period.channel is not None:
        # the same false-alarm cost in every channel: no channel pays for another's alerts
        fprs = channel_fprs(period, "champion", at_recall["champion"]["cut"])
        body["equal_fpr_per_channel"] = {
            "fpr": fprs,
            **{role: at_channel_fprs(period, role, fprs) for role in s.scores},
        }
    return body


def period_segment_fpr(events: pl.DataFrame, inside: pl.Expr) -> dict[str, float | None]:
    """The champion's false-positive rate on a scored period, in and out of the segment."""
    genuine = events.filter(~pl.col("is_fraud").fill_null(False))
    alerted = pl.col("decision") != "allow"

    def share(frame: pl.DataFrame) -> float | None:
        return float(frame.select(alerted.mean()).item()) if frame.height else None

    return {
        "fpr": share(genuine),
        "fpr_segment": share(genuine.filter(inside)),
        "fpr_elsewhere": share(genuine.filter(~inside)),
        "segment_genuine_events": genuine.filter(inside).height,
    }
