"""Errors of the data gate.

A gate that *runs* and finds bad data does not raise: it returns a failed
:class:`~data_quality.report.GateResult`. These errors are for a gate that cannot run at all.
"""

from __future__ import annotations

from schemas import FraudstreamError


class DataQualityError(FraudstreamError):
    """Root of the data-gate errors."""


class GateConfigError(DataQualityError):
    """A :class:`~data_quality.config.GateConfig` value is out of range; the message names it."""


class DatasetError(DataQualityError):
    """A dataset folder cannot be found or read: the message says which path and what to pass."""
