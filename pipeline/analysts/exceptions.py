"""Errors of the simulated analyst team."""

from __future__ import annotations

from schemas import FraudstreamError


class AnalystsError(FraudstreamError):
    """The analyst team cannot run; the message says what to do."""


class AnalystsConfigError(AnalystsError):
    """The team's options are inconsistent; the message names the option to change."""
