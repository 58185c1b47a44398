"""Hyperparameters of the baseline: defaults that work on a simulator log out of the box."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Literal

from models.data.split import DEFAULT_FRACTIONS
from models.evaluation import DEFAULT_BLOCK_RATE, DEFAULT_REVIEW_RATE
from schemas.features import DEFAULT_WINDOW


@dataclass(frozen=True, slots=True)
class BaselineParams:
    # ---- data ----
    window: int = DEFAULT_WINDOW  # tokens kept per account during replay (and in the manifest)
    label_delay_days: float = 7.0  # when a label has no arrival time: event time + this
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS  # train / val / test, by time
    unlabeled_as_genuine: bool = True  # events nobody labelled count as genuine
    # ---- classifier ----
    estimator: Literal["hist", "gbc"] = "hist"  # HistGradientBoosting, or GradientBoosting
    max_iter: int = 300  # boosting rounds (early stopping usually ends sooner)
    learning_rate: float = 0.08
    max_leaf_nodes: int = 31  # hist only
    max_depth: int = 3  # gbc only (hist grows by leaves)
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0  # hist only
    class_weight: Literal["balanced"] | None = "balanced"
    early_stopping: bool = True  # hist: stop when a held-out tenth of train stops improving
    # ---- anomaly forest ----
    forest_trees: int = 200
    forest_max_samples: int = 256
    # ---- decisions ----
    review_rate: float = DEFAULT_REVIEW_RATE  # alert budget per event type, on validation
    block_rate: float = DEFAULT_BLOCK_RATE
    parity_tolerance: float = 1e-4  # max |ONNX - scikit-learn| on validation rows
    parity_rows: int = 50_000
    random_state: int = 0
    threads: int | None = None  # CPU threads for scikit-learn (None: all cores)

    @property
    def label_delay(self) -> timedelta:
        return timedelta(days=self.label_delay_days)

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["fractions"] = list(self.fractions)
        return body
