"""Errors of the feature code."""

from __future__ import annotations

from schemas import FraudstreamError


class FeatureError(FraudstreamError):
    """Base of feature-code errors."""


class StateFormatError(FeatureError):
    """Stored state could not be read; the store was written by an incompatible version."""


class MappingError(FeatureError):
    """An event log does not match its column mapping; the message names the column."""
