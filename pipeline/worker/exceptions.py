"""Errors of the streaming worker's set-up."""

from __future__ import annotations

from schemas import FraudstreamError


class WorkerConfigError(FraudstreamError):
    """The worker cannot run with these settings; the message names the one to change."""
