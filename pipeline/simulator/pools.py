"""Weighted sampling helpers used throughout the simulator (vectorised)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, eq=False)
class Pool:
    """Items with weights; ``sample`` draws with replacement in proportion to the weights."""

    items: np.ndarray
    cum: np.ndarray

    @classmethod
    def of(cls, items: npt.ArrayLike, weights: npt.ArrayLike) -> Pool:
        weights = np.asarray(weights, dtype=np.float64)
        return cls(np.asarray(items), np.cumsum(weights))

    def __len__(self) -> int:
        return len(self.items)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if size == 0:
            return self.items[:0]
        if not len(self.items):
            raise ValueError("cannot sample from an empty pool")
        u = rng.random(size) * self.cum[-1]
        idx = np.minimum(np.searchsorted(self.cum, u, side="right"), len(self.items) - 1)
        return self.items[idx]

    def one(self, rng: np.random.Generator) -> int:
        return int(self.sample(rng, 1)[0])


@dataclass(frozen=True, eq=False)
class RowSampler:
    """One categorical distribution per row of a table, sampled by row without n x k temps.

    Row ``i``'s cumulative weights are stored shifted by ``i`` in one flat increasing array,
    so drawing category ``j`` for row ``i`` is a single ``searchsorted`` of ``i + u``.
    """

    flat: np.ndarray
    k: int

    @classmethod
    def of(cls, weights: np.ndarray) -> RowSampler:
        weights = np.asarray(weights, dtype=np.float64)
        cum = np.cumsum(weights, axis=1)
        cum /= cum[:, -1:]
        cum[:, -1] = 1.0
        cum += np.arange(len(cum))[:, None]
        return cls(cum.ravel(), weights.shape[1])

    def sample(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        picked = np.searchsorted(self.flat, rows + rng.random(len(rows)), side="right")
        return np.clip(picked - rows * self.k, 0, self.k - 1)


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    weights = np.asarray(weights, dtype=np.float64)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = total * weights / weights.sum()
    base = np.floor(exact).astype(np.int64)
    short = total - int(base.sum())
    if short:
        order = np.argsort(-(exact - base), kind="stable")
        base[order[:short]] += 1
    return base
