"""Period 2 as the bank lives it: the champion scores, analysts review, chargebacks come.

- Scoring is the offline replay (:func:`models.data.replay_log` + :func:`score_rows`): the
  same feature code and decision rule as the worker, with each account's history from
  period 1 in front, so the scores are those the stream would have produced.
- The alerts (review/block) and the allowed frauds go through the analyst simulator's own
  decision logic (:class:`pipeline.analysts.team.AnalystTeam`: capacity per analyst and
  day, review delay, error rate, chargebacks or customer claims for missed frauds), driven
  by the stream's clock instead of the wall clock.
- The result is written as the training store writes it (events without the truth plus
  the champion's Score columns, feedback per arrival day), which is what
  ``fraudstream retrain --data`` reads: an alert an analyst called genuine is a reviewed
  false positive there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from models.data import EventLog, replay_log
from models.evaluation import decisions_for, score_rows
from models.serving import OnnxScorer
from pipeline.analysts.config import AnalystsConfig
from pipeline.analysts.team import AnalystTeam
from pipeline.analysts.truth import Truth
from pipeline.bench.continual_world import write_days
from pipeline.store.columns import EVENT_SCHEMA, FEEDBACK_SCHEMA, feedback_row
from schemas import Channel, Decision, Feedback, Score

Progress = Callable[[str, int, int], None]
DAY_S = 86_400.0


@dataclass(frozen=True)
class LabellingConfig:
    """The analyst team of period 2 (the analyst simulator's options, in stream time)."""

    analysts: int = 4
    #: alerts each analyst reviews per day; the rest stay unreviewed
    capacity: int = 250
    error_rate: float = 0.02
    #: hours from an alert to its verdict (min, max)
    review_delay_h: tuple[float, float] = (0.5, 8.0)
    #: days from a missed fraud to its chargeback or the customer's fraud claim
    chargeback_delay_days: float = 3.0
    seed: int = 0

    def analysts_config(self) -> AnalystsConfig:
        low, high = self.review_delay_h
        return AnalystsConfig(
            analysts=self.analysts,
            capacity=self.capacity,
            error_rate=self.error_rate,
            review_delay_s=(low * 3600.0, high * 3600.0),
            chargeback_delay_s=self.chargeback_delay_days * DAY_S,
            truth_timeout_s=365 * DAY_S,
            seed=self.seed,
        )


@dataclass(frozen=True)
class ScoredPeriod:
    """The period's events (with truth) and the champion's score and decision per event."""

    events: pl.DataFrame  # event-log columns + fraud_score, anomaly_score, decision
    version: str


def score_period(
    history: EventLog,
    start: datetime,
    scorer: OnnxScorer,
    label_delay: timedelta,
    progress: Progress | None = None,
) -> ScoredPeriod:
    """Replay ``history`` (sorted) and score its events at or after ``start``."""
    n = len(history)
    replayed = replay_log(
        history,
        window=scorer.window,
        label_delay=label_delay,
        progress=None if progress is None else (lambda done: progress("replay", done, n)),
    )
    rows = np.flatnonzero(replayed.ts >= start.timestamp())
    fraud, anomaly = score_rows(scorer, replayed.replay, rows, progress=progress)
    decisions = decisions_for(fraud, replayed.event_types[rows], scorer, replayed.channels[rows])
    events = history.events[rows].with_columns(
        pl.Series("fraud_score", fraud, dtype=pl.Float64),
        pl.Series("anomaly_score", anomaly, dtype=pl.Float64),
        pl.Series("decision", decisions, dtype=pl.String),
    )
    return ScoredPeriod(events=events, version=scorer.version)


@dataclass(frozen=True)
class Labels:
    feedback: pl.DataFrame  # FEEDBACK_SCHEMA, arrived before ``until``
    stats: dict[str, int]


def _score(row: dict, version: str) -> Score:
    return Score(
        event_id=row["event_id"],
        account_id=row["account_id"],
        event_type=row["event_type"],
        fraud_score=min(1.0, max(0.0, float(row["fraud_score"]))),
        anomaly_score=float(row["anomaly_score"]),
        decision=Decision(row["decision"]),
        reasons=[],
        model_version=version,
        latency_ms=0.0,
        scored_at=row["ts"],
        event_ts=row["ts"],
    )


def _truth(row: dict) -> Truth:
    return Truth(
        event_id=row["event_id"],
        account_id=row["account_id"],
        ts=row["ts"],
        is_fraud=bool(row["is_fraud"]),
        scenario=row["fraud_scenario"],
        merchant_id=row["merchant_id"],
        channel=Channel(row["channel"]) if row["channel"] else None,
    )


def analyst_labels(scored: ScoredPeriod, config: LabellingConfig, until: datetime) -> Labels:
    """Verdicts on the alerts and chargebacks for the missed frauds that arrive by ``until``.

    Only alerts and frauds produce labels, so only they are fed to the team (a genuine
    allowed event makes it do nothing); the team's clock is the event time.
    """
    team = AnalystTeam(config.analysts_config())
    wanted = scored.events.filter(
        (pl.col("decision") != Decision.ALLOW.value) | pl.col("is_fraud").fill_null(False)
    ).sort(["ts", "event_id"])
    out: list[Feedback] = []
    for row in wanted.iter_rows(named=True):
        now = row["ts"].timestamp()
        out.extend(team.due(now))
        team.observe(_truth(row), now)
        score = _score(row, scored.version)
        if score.decision is Decision.ALLOW:
            team.on_score(score, now)
        else:
            team.on_alert(score, now)
    out.extend(team.due(until.timestamp()))  # what is due by ``until`` (the retrain)
    return _labels(out, team, until)


def _labels(out: list[Feedback], team: AnalystTeam, until: datetime) -> Labels:
    rows = [feedback_row(f) for f in out if f.ts < until]
    frame = (
        pl.DataFrame(rows, schema=FEEDBACK_SCHEMA) if rows else pl.DataFrame(schema=FEEDBACK_SCHEMA)
    )
    stats: Counter[str] = Counter({k: int(v) for k, v in team.stats.items()})
    stats["labels"] = frame.height
    stats["labels_after_retrain"] = len(out) - frame.height + team.scheduled()
    return Labels(feedback=frame, stats=dict(stats))


def write_store_layout(scored: ScoredPeriod, labels: Labels, directory: Path) -> Path:
    """Events (no truth) with the champion's Score columns, and the labels, by day."""
    events = scored.events.with_columns(
        pl.lit(scored.version).alias("model_version"), pl.col("ts").alias("scored_at")
    )
    events = events.select([pl.col(n).cast(t) for n, t in EVENT_SCHEMA.items()])
    write_days(events, directory / "events")
    if labels.feedback.height:
        write_days(labels.feedback.sort("ts"), directory / "feedback")
    return directory


def reviewed_false_positive_ids(scored: ScoredPeriod, labels: Labels) -> set[str]:
    """Alerts that an analyst labelled genuine and that are genuine in truth (the ground
    truth the retrain never sees; it reads :func:`models.retrain.data.reviewed_false_positives`)."""
    alerted = scored.events.filter(
        (pl.col("decision") != Decision.ALLOW.value) & ~pl.col("is_fraud").fill_null(False)
    ).get_column("event_id")
    genuine = labels.feedback.filter(
        (pl.col("source") == "analyst") & (pl.col("label") == "genuine")
    ).get_column("event_id")
    return set(alerted.filter(alerted.is_in(genuine.implode())).to_list())
