"""What the stream needs from a model: a version, a window size, thresholds and ``score``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Scorer(Protocol):
    """Scores micro-batches of account windows.

    ``cat`` [B,K,Fc] int64, ``num`` [B,K,Fn] float32, ``mask`` [B,K] int64, oldest token
    first, left padded, the scored event last. Returns (fraud probability [B] in [0, 1],
    anomaly score [B], higher = more unusual).

    A scorer that reads only the last positions of a window may say how many in a
    ``positions`` attribute (1: the scored event only); the stream then builds no more.
    """

    version: str
    window: int
    thresholds: Mapping[str, Mapping[str, float]]  # event type -> {"review": x, "block": y}

    def score(
        self, cat: np.ndarray, num: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]: ...
