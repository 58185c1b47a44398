"""Errors raised by the simulator."""

from __future__ import annotations

from schemas import FraudstreamError


class SimulatorError(FraudstreamError):
    """Root of the simulator's errors."""


class SimulatorConfigError(SimulatorError):
    """The simulation options are inconsistent; the message says which option to change."""


class SinkError(SimulatorError):
    """A sink could not write or deliver the generated stream."""
