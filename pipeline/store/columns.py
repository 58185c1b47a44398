"""Columns of the store's datasets, derived from ``schemas``, and records -> rows.

``events`` (and ``held``) rows have the columns of the offline event log without the
simulator's truth, plus the Score columns the model produced for the event; ``feedback``
rows have the columns of :class:`schemas.Feedback`. The day partition of an event is its
event time (UTC); that of a label is its arrival time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import polars as pl

from schemas import EventRecord, Feedback, Score
from schemas.tabular import EVENT_TYPE_COLUMN, event_log_schema, feedback_schema, polars_schema

#: the Score fields kept beside each event: what the model said when it saw it
SCORE_COLUMNS: tuple[str, ...] = (
    "decision",
    "fraud_score",
    "anomaly_score",
    "model_version",
    "scored_at",
)
#: one label is one row per (event, source, label, arrival time)
FEEDBACK_KEY: tuple[str, ...] = ("event_id", "source", "label", "ts")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def event_schema() -> dict[str, pl.DataType]:
    """Event-log columns (no truth) followed by the Score columns."""
    schema = event_log_schema(with_truth=False)
    score = polars_schema(Score)
    for name in SCORE_COLUMNS:
        if name in schema:
            raise TypeError(f"Score field {name} collides with an event-log column")
        schema[name] = score[name]
    return schema


EVENT_SCHEMA: dict[str, pl.DataType] = event_schema()
FEEDBACK_SCHEMA: dict[str, pl.DataType] = feedback_schema()


def day_of(ts: datetime) -> date:
    """The UTC day a timestamp falls on (the partition it is written to)."""
    return ts.astimezone(UTC).date()


def epoch_us(ts: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding)."""
    return (ts.astimezone(UTC) - _EPOCH) // _US


def feedback_key(event_id: str, source: str, label: str, ts_us: int) -> str:
    """The dedupe key of a label, the same whether built from a record or a Parquet row."""
    return f"{event_id}\x1f{source}\x1f{label}\x1f{ts_us}"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    return value


def event_row(record: EventRecord, score: Score | None) -> dict[str, Any]:
    """One ``events`` row: the record's fields, its type, and the score when there is one."""
    fields = record.model_dump()
    row: dict[str, Any] = {name: _plain(fields.get(name)) for name in EVENT_SCHEMA}
    row[EVENT_TYPE_COLUMN] = record.event_type
    if score is not None:
        dumped = score.model_dump()
        for name in SCORE_COLUMNS:
            row[name] = _plain(dumped[name])
    else:
        for name in SCORE_COLUMNS:
            row[name] = None
    return row


def feedback_row(record: Feedback) -> dict[str, Any]:
    fields = record.model_dump()
    return {name: _plain(fields.get(name)) for name in FEEDBACK_SCHEMA}


def frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Rows as a frame of exactly ``schema``'s columns and types."""
    return pl.DataFrame(rows, schema=schema)
