"""An event log ready for replay: normalized, time-sorted events plus their labels.

Two kinds of label live here and must not be confused:

- the *final label* of each event (``events["is_fraud"]``): the simulator's ground truth, or
  the mapped label column, or the last feedback received. Training and evaluation use it,
  and group frauds by ``events["fraud_scenario"]``: the simulator's truth, a mapped column,
  or the ``fraud_type`` a fraud label gave.
- *label arrivals* (:meth:`EventLog.label_arrivals`): when the stream would have learnt a
  label. Only these reach the features (merchant risk), and only after they arrive.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from models.data.mapping import ColumnMapping, load_mapping
from models.data.normalize import normalize_events
from models.data.sources import is_simulator_layout, read_simulator, read_table
from models.features import EventView, LabelArrival
from schemas import Label
from schemas.tabular import EVENT_TYPE_COLUMN, feedback_schema

log = logging.getLogger(__name__)

DEFAULT_LABEL_DELAY = timedelta(days=7)

#: the columns EventView.from_row reads
VIEW_COLUMNS: tuple[str, ...] = (
    EVENT_TYPE_COLUMN,
    "event_id",
    "account_id",
    "amount",
    "channel",
    "merchant_category",
    "merchant_id",
    "country",
    "lat",
    "lon",
    "device_id",
    "payee_id",
    "success",
)


def _epoch_seconds(column: str) -> pl.Expr:
    """Epoch seconds as float, equal to ``datetime.timestamp()`` of the same instant."""
    return pl.col(column).dt.epoch("us").cast(pl.Float64) / 1e6


@dataclass(frozen=True, slots=True)
class EventLog:
    """Events in ``schemas.tabular.event_log_schema()`` columns, sorted by (ts, event_id).

    ``feedback`` holds observed labels in ``feedback_schema()`` columns (a null ``ts`` means
    the arrival time is unknown); None when the log has none.
    """

    events: pl.DataFrame
    feedback: pl.DataFrame | None = None
    source: str = ""

    def __len__(self) -> int:
        return self.events.height

    @property
    def labels(self) -> pl.Series:
        """Final label per event (True fraud, False genuine, null unknown)."""
        return self.events.get_column("is_fraud")

    @property
    def scenarios(self) -> pl.Series:
        return self.events.get_column("fraud_scenario")

    @property
    def has_labels(self) -> bool:
        return self.labels.null_count() < self.events.height

    def ts_seconds(self) -> np.ndarray:
        """Event times as float64 epoch seconds (the replay's clock)."""
        return self.events.select(_epoch_seconds("ts")).to_series().to_numpy()

    def event_types(self) -> np.ndarray:
        return self.events.get_column(EVENT_TYPE_COLUMN).to_numpy()

    def channels(self) -> np.ndarray:
        """Per event: its channel as a string (``pos``, ``ecom``, …), or None."""
        return self.events.get_column("channel").cast(pl.Utf8).to_numpy().astype(object)

    def views(self) -> Iterator[EventView]:
        """Each event as the shared feature code sees it, in time order."""
        frame = self.events.select(*VIEW_COLUMNS, _epoch_seconds("ts").alias("ts"))
        for row in frame.iter_rows(named=True):
            yield EventView.from_row(row)

    def label_arrivals(self, label_delay: timedelta = DEFAULT_LABEL_DELAY) -> list[LabelArrival]:
        """When each label would reach a worker, sorted by arrival time.

        From the feedback when the log has any (a missing arrival time becomes event time +
        ``label_delay``); otherwise every labelled event's label arrives ``label_delay``
        after the event. ``merchant_id`` is the labelled event's merchant.
        """
        events = self.events.select(
            "event_id", "merchant_id", _epoch_seconds("ts").alias("event_ts"), "is_fraud"
        )
        if self.feedback is not None:
            labelled = self.feedback.select(
                "event_id",
                _epoch_seconds("ts").alias("arrived"),
                (pl.col("label") == Label.FRAUD.value).alias("label_fraud"),
                pl.col("merchant_id").alias("feedback_merchant"),
            ).join(events, on="event_id", how="inner")
            labelled = labelled.with_columns(
                pl.col("label_fraud").alias("is_fraud"),
                pl.coalesce("merchant_id", "feedback_merchant").alias("merchant_id"),
            )
        else:
            labelled = events.filter(pl.col("is_fraud").is_not_null()).with_columns(
                pl.lit(None, dtype=pl.Float64).alias("arrived")
            )
        delay = label_delay.total_seconds()
        labelled = labelled.with_columns(
            pl.coalesce("arrived", pl.col("event_ts") + delay).alias("arrived")
        ).sort(["arrived", "event_id"], maintain_order=True)
        return [
            LabelArrival(event_id, arrived, bool(is_fraud), merchant_id)
            for event_id, arrived, is_fraud, merchant_id in labelled.select(
                "event_id", "arrived", "is_fraud", "merchant_id"
            ).iter_rows()
        ]

    def fingerprint(self) -> str:
        """sha256 of what training reads: event ids, times, final labels and feedback."""
        digest = hashlib.sha256()
        digest.update("\n".join(self.events.get_column("event_id").to_list()).encode())
        frame = self.events.select(
            pl.col("ts").dt.epoch("us"), pl.col("is_fraud").cast(pl.Int8).fill_null(-1)
        )
        digest.update(frame.get_column("ts").to_numpy().astype("<i8").tobytes())
        digest.update(frame.get_column("is_fraud").to_numpy().astype("i1").tobytes())
        if self.feedback is not None:
            feedback = self.feedback.select(
                "event_id", pl.col("ts").dt.epoch("us").fill_null(-1), "label"
            )
            digest.update("\n".join(feedback.get_column("event_id").to_list()).encode())
            digest.update(feedback.get_column("ts").to_numpy().astype("<i8").tobytes())
            digest.update("\n".join(feedback.get_column("label").to_list()).encode())
        return digest.hexdigest()


def _feedback_frame(raw: pl.DataFrame) -> pl.DataFrame:
    """Raw feedback rows in ``feedback_schema()`` columns."""
    schema = feedback_schema()
    columns = [
        (pl.col(name) if name in raw.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in schema.items()
    ]
    frame = raw.select(columns).with_columns(pl.col("label").str.to_lowercase())
    return frame.filter(pl.col("event_id").is_not_null() & pl.col("label").is_not_null())


def _observed_feedback(events: pl.DataFrame, observed: pl.DataFrame) -> pl.DataFrame:
    """Labels read from a mapped label column, as feedback rows."""
    joined = observed.join(
        events.select("event_id", "account_id", "merchant_id"), on="event_id", how="left"
    )
    frame = joined.select(
        "event_id",
        "account_id",
        pl.col("label_ts").alias("ts"),
        "merchant_id",
        pl.when(pl.col("is_fraud"))
        .then(pl.lit(Label.FRAUD.value))
        .otherwise(pl.lit(Label.GENUINE.value))
        .alias("label"),
    )
    return _feedback_frame(frame)


def _final_from_feedback(events: pl.DataFrame, feedback: pl.DataFrame) -> pl.DataFrame:
    """Fill unknown final labels with the last label each event received, and the unknown
    scenario of a fraud with the ``fraud_type`` of its last fraud label that names one."""
    ordered = feedback.sort("ts", nulls_last=False, maintain_order=True)
    is_fraud_label = pl.col("label") == Label.FRAUD.value
    last = (
        ordered.group_by("event_id", maintain_order=True)
        .last()
        .select("event_id", is_fraud_label.alias("_fb_fraud"))
    )
    typed = (
        ordered.filter(is_fraud_label & pl.col("fraud_type").is_not_null())
        .group_by("event_id", maintain_order=True)
        .last()
        .select("event_id", pl.col("fraud_type").alias("_fb_type"))
    )
    return (
        events.join(last, on="event_id", how="left", maintain_order="left")
        .join(typed, on="event_id", how="left", maintain_order="left")
        .with_columns(pl.coalesce("is_fraud", "_fb_fraud").alias("is_fraud"))
        .with_columns(
            pl.when(pl.col("is_fraud"))
            .then(pl.coalesce("fraud_scenario", "_fb_type"))
            .otherwise(pl.col("fraud_scenario"))
            .alias("fraud_scenario")
        )
        .drop("_fb_fraud", "_fb_type")
    )


def load_event_log(path: Path | str, mapping: Path | ColumnMapping | None = None) -> EventLog:
    """Read an event log: the simulator's Parquet layout, or any CSV/Parquet via a mapping.

    Without a mapping, columns must already carry the event-log schema's names.
    """
    path = Path(path)
    rules = load_mapping(mapping) if isinstance(mapping, Path) else (mapping or ColumnMapping())
    raw_feedback: pl.DataFrame | None = None
    if is_simulator_layout(path):
        raw, raw_feedback = read_simulator(path)
    else:
        raw = read_table(path, rules)
    events, observed = normalize_events(raw, rules, str(path))

    before = events.height
    events = events.unique(subset="event_id", keep="first", maintain_order=True)
    if events.height < before:
        log.warning("duplicate event ids dropped count=%d source=%s", before - events.height, path)
    events = events.sort(["ts", "event_id"], maintain_order=True)

    feedback = _feedback_frame(raw_feedback) if raw_feedback is not None else None
    if observed is not None:
        mapped = _observed_feedback(events, observed)
        feedback = mapped if feedback is None else pl.concat([feedback, mapped])
    if feedback is not None:
        feedback = feedback.sort(["ts", "event_id"], nulls_last=True, maintain_order=True)
        events = _final_from_feedback(events, feedback)

    result = EventLog(events=events, feedback=feedback, source=str(path))
    log.info(
        "event log loaded source=%s events=%d labelled=%d frauds=%d feedback=%d",
        path,
        len(result),
        result.events.height - result.labels.null_count(),
        int(result.labels.fill_null(False).sum()),
        0 if feedback is None else feedback.height,
    )
    return result
