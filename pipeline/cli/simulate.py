"""``fraudstream simulate`` (placeholder, filled in next)."""

from __future__ import annotations


def simulate() -> None:
    """Generate a realistic event stream."""
