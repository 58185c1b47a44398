"""Frame rows -> validated records: what the Kafka sink sends and what tests check.

Fields are taken from the record models (``model_fields``), so the wire format follows
``schemas`` wherever the frame has the column.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from schemas import DEFAULT_LIMITS, EventRecord, Feedback, Login, TimeBounds, Transaction

EVENT_TYPES: dict[str, type[EventRecord]] = {
    Transaction.event_type: Transaction,
    Login.event_type: Login,
}
DEFAULT_BOUNDS = DEFAULT_LIMITS.time_bounds
_FIELDS = {cls: tuple(cls.model_fields) for cls in (Transaction, Login, Feedback)}


def _fields(record_type: type[Any], row: dict[str, Any]) -> dict[str, Any]:
    out = {name: row[name] for name in _FIELDS[record_type] if row.get(name) is not None}
    amount = out.get("amount")
    if isinstance(amount, float):  # the frame's float holds a value rounded to minor units
        out["amount"] = Decimal(repr(amount))
    return out


def event_record(row: dict[str, Any], bounds: TimeBounds = DEFAULT_BOUNDS) -> EventRecord:
    """The Transaction or Login of an event-log row (its ``event_type`` says which)."""
    record_type = EVENT_TYPES[row["event_type"]]
    return record_type.model_validate(_fields(record_type, row), context={"time_bounds": bounds})


def feedback_record(row: dict[str, Any], bounds: TimeBounds = DEFAULT_BOUNDS) -> Feedback:
    return Feedback.model_validate(_fields(Feedback, row), context={"time_bounds": bounds})
