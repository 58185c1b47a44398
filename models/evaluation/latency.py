"""ONNX scoring latency per event, as a worker pays it: one thread, batch 1 and micro-batches.

The timed call is the scorer's ``score`` (input preparation + ``session.run``), on real
windows from the evaluation log. A benchmark, not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.serving import Scorer


@dataclass(frozen=True, slots=True)
class LatencyParams:
    single_calls: int = 1000  # timed batch-1 calls
    batch: int = 256  # events per micro-batch
    batch_calls: int = 100  # timed micro-batch calls
    warmup: int = 50  # untimed calls of each size per scorer
    rounds: int = 10  # scorers take turns in this many slices

    def __post_init__(self) -> None:
        if min(self.single_calls, self.batch, self.batch_calls, self.rounds) < 1:
            raise ValueError("latency calls, batch size and rounds must all be at least 1")


@dataclass(frozen=True, slots=True)
class Latency:
    """Milliseconds per event: at batch 1, and within micro-batches of ``batch``."""

    batch: int
    single_p50_ms: float
    single_p99_ms: float
    batched_p50_ms: float
    batched_p99_ms: float

    def to_dict(self) -> dict[str, float]:
        return {
            "latency_batch1_p50_ms": self.single_p50_ms,
            "latency_batch1_p99_ms": self.single_p99_ms,
            f"latency_batch{self.batch}_p50_ms": self.batched_p50_ms,
            f"latency_batch{self.batch}_p99_ms": self.batched_p99_ms,
        }


def _timed(
    scorer: Scorer, windows: tuple[np.ndarray, ...], starts: np.ndarray, size: int
) -> np.ndarray:
    """Seconds per call for batches of ``size`` starting at each of ``starts``."""
    cat, num, mask = windows
    out = np.empty(len(starts))
    for i, start in enumerate(starts):
        c, n, m = cat[start : start + size], num[start : start + size], mask[start : start + size]
        began = time.perf_counter()
        scorer.score(c, n, m)
        out[i] = time.perf_counter() - began
    return out


def measure_latencies(
    scorers: Sequence[Scorer],
    cat: np.ndarray,
    num: np.ndarray,
    mask: np.ndarray,
    params: LatencyParams | None = None,
) -> list[Latency]:
    """p50/p99 per event of each scorer on the windows given (cycled when there are few).

    The scorers take turns in ``rounds`` slices, so a busy spell of the machine hits them
    alike instead of whichever happened to run then. Scorers should run one intra-op thread
    (the ``OnnxScorer`` default).
    """
    params = params or LatencyParams()
    n = len(cat)
    if n == 0:
        raise ValueError("no windows to time the scorers on")
    windows = (cat, num, mask)
    batch = min(params.batch, n)
    singles: list[list[np.ndarray]] = [[] for _ in scorers]
    batches: list[list[np.ndarray]] = [[] for _ in scorers]
    for scorer in scorers:
        _timed(scorer, windows, np.arange(params.warmup) % n, 1)
        _timed(scorer, windows, np.zeros(params.warmup, dtype=np.int64), batch)
    single_starts = np.array_split(np.arange(params.single_calls) % n, params.rounds)
    batch_starts = np.array_split(
        (np.arange(params.batch_calls) * batch) % max(1, n - batch + 1), params.rounds
    )
    for round_singles, round_batches in zip(single_starts, batch_starts, strict=True):
        for i, scorer in enumerate(scorers):
            singles[i].append(_timed(scorer, windows, round_singles, 1))
            batches[i].append(_timed(scorer, windows, round_batches, batch) / batch)
    ms = 1000.0
    out = []
    for single_parts, batch_parts in zip(singles, batches, strict=True):
        single, batched = np.concatenate(single_parts), np.concatenate(batch_parts)
        out.append(
            Latency(
                batch=batch,
                single_p50_ms=float(np.percentile(single, 50)) * ms,
                single_p99_ms=float(np.percentile(single, 99)) * ms,
                batched_p50_ms=float(np.percentile(batched, 50)) * ms,
                batched_p99_ms=float(np.percentile(batched, 99)) * ms,
            )
        )
    return out


def measure_latency(
    scorer: Scorer,
    cat: np.ndarray,
    num: np.ndarray,
    mask: np.ndarray,
    params: LatencyParams | None = None,
) -> Latency:
    """p50/p99 per event of one scorer (see :func:`measure_latencies`)."""
    return measure_latencies([scorer], cat, num, mask, params)[0]
