"""The analyst guard: one table, one row per analyst, built so that a lone analyst who
floods the labels or flips them stands out against the rest of the team.

Analyst verdicts are the labels a model is most sensitive to (reviewed false positives are
up-weighted by the retrain job), and one person can produce hundreds a day. The guard needs
no reference window: each analyst is compared with the team *in the same window*, through
robust statistics (median, MAD) that one deviant analyst cannot drag along, so a team-wide
shift (a new fraud wave) does not trip it while one person's deviation does. Three
signals, each a column the GX suite bounds:

``label_share``
    the analyst's share of all analyst labels. Bounded by the larger of a fixed cap, a
    multiple of a fair share (1/team size) and the binomial noise of a fair share at this
    volume, so a small team or a quiet day does not alarm.
``fraud_rate_z``
    a robust z-score of the analyst's fraud rate against the team:
    ``(p_a - median) / sqrt(p0 (1 - p0) / n_a + tau^2)`` where ``median`` is the median
    fraud rate of the analysts with at least ``min_analyst_labels`` labels, ``p0`` is that
    median kept at least one label's worth away from 0 and 1 (a team that labels no fraud
    still has a variance), and ``tau = 1.4826 x MAD`` is the team's own spread (analysts
    work different queues; that much difference is normal). Null (not tested) for analysts
    with fewer labels, or when fewer than three analysts qualify. With k analysts and a
    4-sigma bound, an honest homogeneous team trips it by sampling alone about k x 6e-5 of
    the time.
``fraud_to_genuine_share``
    the analyst's share of the window's fraud->genuine disagreements: events the analyst
    called genuine while a chargeback or a customer's fraud claim (money-backed evidence,
    not another analyst's opinion) called them fraud. Those are the labels that teach a
    model to miss fraud. Null when the window has fewer than ``min_disagreements``.
    Analyst-versus-analyst conflicts are not attributed to either side here; they fail
    ``labels.conflicting_labels`` and the deviant side shows in ``fraud_rate_z``.

Flipping genuine events to fraud raises the analyst's fraud rate; flipping fraud to genuine
contradicts the chargebacks and claims (disagreement share) or, when nobody else labelled
the event, lowers the analyst's fraud rate below the team's; flooding shows as volume.
"""

from __future__ import annotations

import math
import statistics

import polars as pl

from data_quality.config import GateConfig
from data_quality.labels import ANALYST_ID, EVENT_ID, LABEL, SOURCE, TS
from data_quality.loading import Table
from schemas import FeedbackSource, Label

LABELS = "labels"
FRAUD_LABELS = "fraud_labels"
LABEL_SHARE = "label_share"
FRAUD_RATE = "fraud_rate"
TEAM_FRAUD_RATE = "team_fraud_rate"
TEAM_SPREAD = "team_spread"
FRAUD_RATE_Z = "fraud_rate_z"
FRAUD_TO_GENUINE = "fraud_to_genuine"
FRAUD_TO_GENUINE_SHARE = "fraud_to_genuine_share"

#: fewest analysts (each with enough labels) that make a team baseline
MIN_TEAM = 3
#: MAD -> standard deviation of a normal distribution
MAD_SCALE = 1.4826


def _disagreements(rows: pl.DataFrame) -> pl.DataFrame:
    """analyst_id -> genuine verdicts on events a chargeback or a customer called fraud."""
    evidence = (
        rows.filter(
            (pl.col(LABEL) == Label.FRAUD.value) & (pl.col(SOURCE) != FeedbackSource.ANALYST.value)
        )
        .select(EVENT_ID)
        .unique()
    )
    verdicts = rows.filter(
        (pl.col(LABEL) == Label.GENUINE.value)
        & (pl.col(SOURCE) == FeedbackSource.ANALYST.value)
        & pl.col(ANALYST_ID).is_not_null()
    ).select(EVENT_ID, ANALYST_ID)
    contradicted = verdicts.join(evidence, on=EVENT_ID, how="inner").unique()
    return contradicted.group_by(ANALYST_ID).agg(pl.len().cast(pl.Int64).alias(FRAUD_TO_GENUINE))


def _team_baseline(per: pl.DataFrame, config: GateConfig) -> tuple[float, float] | None:
    """Median fraud rate and robust spread of the analysts with enough labels."""
    qualified = per.filter(pl.col(LABELS) >= config.min_analyst_labels)
    if qualified.height < MIN_TEAM:
        return None
    rates = (qualified.get_column(FRAUD_LABELS) / qualified.get_column(LABELS)).to_list()
    median = statistics.median(rates)
    spread = MAD_SCALE * statistics.median(abs(r - median) for r in rates)
    return median, spread


def analyst_table(feedback: Table, config: GateConfig) -> pl.DataFrame | None:
    """One row per analyst (None: the feedback lacks the columns the guard reads)."""
    if not feedback.has(EVENT_ID, LABEL, SOURCE, ANALYST_ID, TS):
        return None
    rows = feedback.frame.filter(
        pl.col(EVENT_ID).is_not_null()
        & pl.col(LABEL).is_in([label.value for label in Label])
        & pl.col(SOURCE).is_not_null()
    )
    per = (
        rows.filter(
            (pl.col(SOURCE) == FeedbackSource.ANALYST.value) & pl.col(ANALYST_ID).is_not_null()
        )
        .group_by(ANALYST_ID)
        .agg(
            pl.len().cast(pl.Int64).alias(LABELS),
            (pl.col(LABEL) == Label.FRAUD.value).sum().cast(pl.Int64).alias(FRAUD_LABELS),
        )
    )
    total = int(per.get_column(LABELS).sum() or 0)
    disagreements = _disagreements(rows)
    total_disagreements = int(disagreements.get_column(FRAUD_TO_GENUINE).sum() or 0)

    rate = pl.col(FRAUD_LABELS) / pl.col(LABELS)
    baseline = _team_baseline(per, config)
    if baseline is None:
        median, spread, z = None, None, pl.lit(None, dtype=pl.Float64)
    else:
        median, spread = baseline
        floor = 1.0 / (total + 2)
        p0 = min(max(median, floor), 1.0 - floor)
        se = (p0 * (1.0 - p0) / pl.col(LABELS) + spread**2).sqrt()
        z = (
            pl.when(pl.col(LABELS) >= config.min_analyst_labels)
            .then((rate - median) / se)
            .otherwise(None)
        )
    enough = total_disagreements >= max(config.min_disagreements, 1)
    share = pl.col(FRAUD_TO_GENUINE) / total_disagreements if enough else pl.lit(None)
    return (
        per.join(disagreements, on=ANALYST_ID, how="left")
        .with_columns(pl.col(FRAUD_TO_GENUINE).fill_null(0))
        .with_columns(
            (pl.col(LABELS) / total).alias(LABEL_SHARE),
            rate.alias(FRAUD_RATE),
            pl.lit(median, dtype=pl.Float64).alias(TEAM_FRAUD_RATE),
            pl.lit(spread, dtype=pl.Float64).alias(TEAM_SPREAD),
            z.cast(pl.Float64).alias(FRAUD_RATE_Z),
            share.cast(pl.Float64).alias(FRAUD_TO_GENUINE_SHARE),
        )
        .select(
            ANALYST_ID,
            LABELS,
            FRAUD_LABELS,
            LABEL_SHARE,
            FRAUD_RATE,
            TEAM_FRAUD_RATE,
            TEAM_SPREAD,
            FRAUD_RATE_Z,
            FRAUD_TO_GENUINE,
            FRAUD_TO_GENUINE_SHARE,
        )
        .sort(ANALYST_ID)
    )


def label_share_limit(analysts: pl.DataFrame, config: GateConfig) -> float:
    """Largest share of the analyst labels one analyst may hold in this window."""
    team = analysts.height
    if team == 0:
        return 1.0
    total = int(analysts.get_column(LABELS).sum() or 0)
    fair = 1.0 / team
    noise = config.analyst_sigma * math.sqrt(fair * (1.0 - fair) / max(total, 1))
    limit = max(
        config.max_analyst_label_share, config.analyst_fair_share_multiple * fair, fair + noise
    )
    return min(1.0, limit)
