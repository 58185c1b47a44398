"""Errors of the benchmarks: each says what failed and where to look."""

from __future__ import annotations

from schemas import FraudstreamError


class BenchError(FraudstreamError):
    """A benchmark could not set up, run to completion, or read its results back."""


class WorkerStartError(BenchError):
    """The worker process exited or never became ready; its log says why."""


class IncompleteRunError(BenchError):
    """Not every valid event got a Score before the deadline."""
