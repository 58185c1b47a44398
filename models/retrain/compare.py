"""Score champion and challenger on the same events and measure what the rule compares."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from sklearn.metrics import average_precision_score

from models.data import EventLog, replay_log
from models.evaluation import alert_rates, score_rows
from models.evaluation.scenarios import scenario_recall
from models.manifest import Thresholds
from models.retrain.rule import Comparison, ModelMetrics
from models.serving import OnnxScorer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoredSet:
    """Labels, event types, scenarios and each model's fraud score on an evaluation set."""

    name: str
    y: np.ndarray
    event_types: np.ndarray
    scenarios: np.ndarray
    scores: dict[str, np.ndarray]  # "champion" / "challenger"
    channels: np.ndarray | None = None  # a transaction's channel or None, for channel cuts

    @property
    def frauds(self) -> int:
        return int(self.y.sum())


def score_set(
    name: str,
    event_log: EventLog,
    scorers: dict[str, OnnxScorer],
    label_delay: timedelta,
    start: float | None = None,
    end: float | None = None,
) -> ScoredSet:
    """Replay ``event_log`` once and score its events within [``start``, ``end``] by each
    model (an open bound: from the first or to the last event)."""
    window = max(s.window for s in scorers.values())
    replayed = replay_log(event_log, window=window, label_delay=label_delay)
    lo = -np.inf if start is None else start
    hi = np.inf if end is None else end
    rows = np.flatnonzero((replayed.ts >= lo) & (replayed.ts <= hi))
    scores = {role: score_rows(s, replayed.replay, rows)[0] for role, s in scorers.items()}
    log.info("set scored name=%s events=%d", name, len(rows))
    return ScoredSet(
        name=name,
        y=(replayed.labels[rows] == 1).astype(np.int8),
        event_types=replayed.event_types[rows],
        scenarios=replayed.scenarios[rows],
        scores=scores,
        channels=replayed.channels[rows],
    )


def thresholds_of(scorer: OnnxScorer) -> dict[str, Thresholds]:
    """A loaded model's thresholds (key -> cut-offs) as manifest values."""
    return {t: Thresholds(**dict(cut)) for t, cut in scorer.thresholds.items()}


def fpr_at_recall(y: np.ndarray, score: np.ndarray, recall: float) -> float:
    """False-positive rate at the highest threshold whose recall is at least ``recall``."""
    fraud, genuine = score[y == 1], score[y == 0]
    if len(fraud) == 0 or len(genuine) == 0:
        return math.nan
    k = min(len(fraud), max(1, math.ceil(recall * len(fraud) - 1e-9)))
    cut = np.sort(fraud)[::-1][k - 1]
    return float((genuine >= cut).mean())


def model_metrics(
    scored: ScoredSet, role: str, scorer: OnnxScorer, champion_recall: float | None
) -> ModelMetrics:
    score = scored.scores[role]
    alerted, _ = alert_rates(score, scored.event_types, thresholds_of(scorer), scored.channels)
    frauds = scored.frauds
    recall = float(alerted[scored.y == 1].mean()) if frauds else math.nan
    one_class = frauds in (0, len(scored.y))
    per_scenario = scenario_recall(scored.y, alerted.astype(np.float64), scored.scenarios, 0.5)
    return ModelMetrics(
        events=len(scored.y),
        frauds=frauds,
        average_precision=math.nan
        if one_class
        else float(average_precision_score(scored.y, score)),
        recall=recall,
        fpr_at_champion_recall=fpr_at_recall(
            scored.y, score, recall if champion_recall is None else champion_recall
        ),
        scenarios={k: (v.frauds, v.caught) for k, v in per_scenario.items()},
    )


def compare(scored: ScoredSet, scorers: dict[str, OnnxScorer]) -> Comparison:
    champion = model_metrics(scored, "champion", scorers["champion"], None)
    challenger = model_metrics(scored, "challenger", scorers["challenger"], champion.recall)
    return Comparison(scored.name, champion, challenger)
