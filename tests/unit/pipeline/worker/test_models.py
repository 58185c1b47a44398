"""The warm-up a worker gives every model before serving it (pipeline/worker/models.py)."""

from __future__ import annotations

import numpy as np
import pytest

from models.serving.inputs import N_CAT, N_NUM
from pipeline.worker.models import warm_up
from schemas import FraudstreamError


class FakeScorer:
    version = "v-test"

    def __init__(self, positions: int, error: Exception | None = None) -> None:
        self.positions = positions
        self.error = error
        self.calls: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def score(self, cat: np.ndarray, num: np.ndarray, mask: np.ndarray):
        self.calls.append((cat, num, mask))
        if self.error is not None:
            raise self.error
        return np.zeros(len(cat), np.float32), np.zeros(len(cat), np.float32)


@pytest.mark.parametrize("positions", [1, 32])
def test_warm_up_scores_one_padding_event_of_the_models_width(positions: int) -> None:
    scorer = FakeScorer(positions)
    assert warm_up(scorer) is scorer  # type: ignore[arg-type]
    ((cat, num, mask),) = scorer.calls
    assert cat.shape == (1, positions, N_CAT) and cat.dtype == np.int64
    assert num.shape == (1, positions, N_NUM) and num.dtype == np.float32
    assert mask.tolist() == [[0] * (positions - 1) + [1]]


def test_a_model_that_cannot_score_is_refused_with_one_line() -> None:
    broken = FakeScorer(8, RuntimeError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT"))
    with pytest.raises(FraudstreamError, match="v-test failed to score a warm-up event"):
        warm_up(broken)  # type: ignore[arg-type]
    refused = FakeScorer(8, FraudstreamError("already ours"))
    with pytest.raises(FraudstreamError, match="already ours"):
        warm_up(refused)  # type: ignore[arg-type]
