"""Fit the baseline's two estimators on token rows: the trainer and the evaluation share this.

The classifier reads the scored event's own token (``last_token_features``); the token
already carries the account's velocity windows (1 h … 30 days), novelty flags and the
merchant's counts and delayed-label fraud rate, so this is gradient boosting on engineered
aggregates. The IsolationForest never sees a label.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    IsolationForest,
)
from sklearn.utils.class_weight import compute_sample_weight

from models.baseline.onnx_export import Classifier
from models.baseline.params import BaselineParams


def fit_classifier(
    x: np.ndarray,
    y: np.ndarray,
    params: BaselineParams,
    sample_weight: np.ndarray | None = None,
) -> Classifier:
    """The fraud classifier on rows ``x`` with 0/1 labels ``y``.

    ``sample_weight`` (one per row) multiplies the class weights, e.g. to up-weight
    reviewed false positives when a model is retrained.
    """
    if params.estimator == "hist":
        model: Classifier = HistGradientBoostingClassifier(
            max_iter=params.max_iter,
            learning_rate=params.learning_rate,
            max_leaf_nodes=params.max_leaf_nodes,
            min_samples_leaf=params.min_samples_leaf,
            l2_regularization=params.l2_regularization,
            class_weight=params.class_weight,
            early_stopping=params.early_stopping,
            random_state=params.random_state,
        )
        return model.fit(x, y, sample_weight=sample_weight)
    model = GradientBoostingClassifier(
        n_estimators=params.max_iter,
        learning_rate=params.learning_rate,
        max_depth=params.max_depth,
        min_samples_leaf=params.min_samples_leaf,
        subsample=0.8,
        random_state=params.random_state,
    )
    weights = compute_sample_weight(params.class_weight, y) if params.class_weight else None
    if sample_weight is not None:
        weights = sample_weight if weights is None else weights * sample_weight
    return model.fit(x, y, sample_weight=weights)


def fit_forest(x: np.ndarray, params: BaselineParams) -> IsolationForest:
    """The label-free anomaly forest on rows ``x``."""
    return IsolationForest(
        n_estimators=params.forest_trees,
        max_samples=min(params.forest_max_samples, len(x)),
        random_state=params.random_state,
    ).fit(x)
