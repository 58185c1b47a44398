"""Derived label tables: one row per labelled event, and the label rates of a window.

Both the batch and the reference window go through the same functions, so a rate is
always compared with the same rate computed the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data_quality.loading import Table
from schemas import FeedbackSource, Label

EVENT_ID = "event_id"
TS = "ts"
LABEL = "label"
SOURCE = "source"
ANALYST_ID = "analyst_id"

#: columns of the per-event label table
LABELS = "labels"
DISTINCT_LABELS = "distinct_labels"
FINAL_IS_FRAUD = "final_is_fraud"
LABEL_LAG_SECONDS = "label_lag_seconds"

LABELLED_SHARE = "labelled_share"
FRAUD_SHARE = "fraud_share"


def source_share(source: FeedbackSource) -> str:
    """Rate name of one source's share of the labels."""
    return f"source_{source.value}_share"


@dataclass(frozen=True, slots=True)
class Rate:
    """A share and the count it is a share of (None: cannot be computed from this data)."""

    value: float | None
    n: int


def valid_labels(feedback: Table) -> pl.DataFrame | None:
    """Label rows whose event id and label are usable (None: the columns are missing)."""
    if not feedback.has(EVENT_ID, LABEL, TS):
        return None
    allowed = [label.value for label in Label]
    return feedback.frame.filter(pl.col(EVENT_ID).is_not_null() & pl.col(LABEL).is_in(allowed))


def label_table(events: Table, feedback: Table) -> pl.DataFrame | None:
    """One row per labelled event: how many labels, how many distinct values, the final
    label (the last to arrive, as training reads it) and how long after the event the first
    label arrived (null when the event is not in this window)."""
    rows = valid_labels(feedback)
    if rows is None:
        return None
    per_event = (
        rows.sort(TS, nulls_last=False, maintain_order=True)
        .group_by(EVENT_ID, maintain_order=True)
        .agg(
            pl.len().alias(LABELS),
            pl.col(LABEL).n_unique().alias(DISTINCT_LABELS),
            (pl.col(LABEL).last() == Label.FRAUD.value).cast(pl.Int8).alias(FINAL_IS_FRAUD),
            pl.col(TS).min().alias("_first_label_ts"),
        )
    )
    if events.has(EVENT_ID, TS):
        event_ts = (
            events.frame.select(EVENT_ID, pl.col(TS).alias("_event_ts"))
            .filter(pl.col(EVENT_ID).is_not_null())
            .unique(EVENT_ID, keep="first")
        )
        per_event = per_event.join(event_ts, on=EVENT_ID, how="left")
        lag = (pl.col("_first_label_ts") - pl.col("_event_ts")).dt.total_microseconds() / 1e6
    else:
        lag = pl.lit(None, dtype=pl.Float64)
    return per_event.with_columns(lag.alias(LABEL_LAG_SECONDS)).select(
        EVENT_ID, LABELS, DISTINCT_LABELS, FINAL_IS_FRAUD, LABEL_LAG_SECONDS
    )


def label_rates(events: Table, feedback: Table, labels: pl.DataFrame | None) -> dict[str, Rate]:
    """Labelled share of the events, fraud share of the labelled events, share per source."""
    rates: dict[str, Rate] = {}
    if labels is not None and events.has(EVENT_ID):
        ids = events.frame.get_column(EVENT_ID).drop_nulls().unique()
        labelled = labels.filter(pl.col(EVENT_ID).is_in(ids.implode())).height
        rates[LABELLED_SHARE] = Rate(labelled / ids.len() if ids.len() else None, ids.len())
    if labels is not None:
        n = labels.height
        fraud = int(labels.get_column(FINAL_IS_FRAUD).sum() or 0)
        rates[FRAUD_SHARE] = Rate(fraud / n if n else None, n)
    if feedback.has(SOURCE):
        sources = feedback.frame.get_column(SOURCE).drop_nulls()
        n = sources.len()
        for source in FeedbackSource:
            count = int((sources == source.value).sum())
            rates[source_share(source)] = Rate(count / n if n else None, n)
    return rates


def rates_frame(rates: dict[str, Rate]) -> pl.DataFrame:
    """The rates as a one-row table (what the GX rate suite validates)."""
    return pl.DataFrame({name: [rate.value] for name, rate in rates.items()}, strict=False)
