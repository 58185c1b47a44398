"""The project's exception root and the record-level errors.

Every error the project raises on purpose derives from :class:`FraudstreamError`, so a
caller can catch the whole family in one place. The root lives in ``schemas`` because it
is the bottom of the import chain (``schemas`` <- ``data_quality`` <- ``models`` <- ``pipeline``).
"""

from __future__ import annotations


class FraudstreamError(Exception):
    """Root of every error raised on purpose by fraudstream."""


class InvalidRecordError(FraudstreamError):
    """A message could not be decoded into a valid record.

    ``reason`` is a short human-readable sentence fit for a dead-letter record and a log line;
    ``error_class`` names the kind of failure (``too_large``, ``not_json``, ``not_object``,
    ``invalid``) so dead letters can be counted by cause.
    """

    def __init__(self, reason: str, *, error_class: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_class = error_class
