"""Distributions and rates: the pure arithmetic of a benchmark report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

QUANTILES = (50.0, 95.0, 99.0)


@dataclass(frozen=True, slots=True)
class Distribution:
    """Summary of a sample; percentiles interpolate linearly between order statistics."""

    count: int
    mean: float
    min: float
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Distribution | None:
        data = np.fromiter(values, dtype=np.float64)
        if data.size == 0:
            return None
        p50, p95, p99 = np.percentile(data, QUANTILES)
        return cls(
            count=int(data.size),
            mean=float(data.mean()),
            min=float(data.min()),
            p50=float(p50),
            p95=float(p95),
            p99=float(p99),
            max=float(data.max()),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of an empty sample")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def rate(count: int, first: float, last: float) -> float | None:
    """Events per second over the span from the first to the last one; None without a span."""
    span = last - first
    if count < 2 or span <= 0:
        return None
    return count / span


def group_sizes(keys: Iterable[object]) -> list[int]:
    """How many items share each key, in order of first appearance.

    The Scores of one micro-batch share their ``scored_at`` and ``latency_ms``, so grouping
    by that pair recovers the exact number of valid events in each batch.
    """
    sizes: dict[object, int] = {}
    for key in keys:
        sizes[key] = sizes.get(key, 0) + 1
    return list(sizes.values())
