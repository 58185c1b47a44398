"""Errors of event-log loading (a log that does not fit its mapping is a MappingError)."""

from __future__ import annotations

from schemas import FraudstreamError


class EventLogError(FraudstreamError):
    """An event log cannot be found or read: the message says which path and what to pass."""
