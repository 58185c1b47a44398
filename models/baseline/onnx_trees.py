"""Fitted scikit-learn tree ensembles written as ONNX ``TreeEnsembleRegressor`` graphs.

Both graphs read ``features`` [B, F] float32 and output one score [B]:

- :func:`hist_gbm_graph`: a binary HistGradientBoostingClassifier's P(fraud). skl2onnx 1.20
  cannot convert it with onnx >= 1.18 (it passes a Python bool where an int list is
  expected), so it is written here from the fitted predictors.
- :func:`forest_graph`: an IsolationForest's ``-score_samples`` in (0, 1], higher = more
  anomalous (above ~0.5 is unusual, as in the original paper). skl2onnx's converter builds
  ~27 nodes per tree and costs ~0.8 ms per event at 100 trees; one ensemble costs ~10 µs.

Split thresholds are rounded *down* to float32, so ``x <= t`` decides exactly as
scikit-learn does for every float32 input; leaf values are summed in float32 (differences
~1e-7). The training-time parity check guards all of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest

from models.exceptions import ModelMismatchError

INPUT = "features"
FRAUD_OUTPUT = "fraud_probability"
ANOMALY_OUTPUT = "anomaly_score"


def _float32_floor(value: float) -> float:
    """The largest float32 <= value: ``x <= result`` iff ``x <= value`` for float32 x."""
    rounded = np.float32(value)
    if float(rounded) > value:
        rounded = np.nextafter(rounded, np.float32(-np.inf))
    return float(rounded)


def flat_output(name: str) -> tuple[onnx.NodeProto, onnx.TensorProto]:
    shape = numpy_helper.from_array(np.array([-1], dtype=np.int64), name=f"{name}_shape")
    return helper.make_node("Reshape", [f"{name}_2d", shape.name], [name]), shape


def score_output(name: str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None])


def features_input(n_features: int) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [None, n_features])


_TREE_ATTRS = (
    "nodes_treeids",
    "nodes_nodeids",
    "nodes_featureids",
    "nodes_modes",
    "nodes_values",
    "nodes_truenodeids",
    "nodes_falsenodeids",
    "nodes_missing_value_tracks_true",
    "target_treeids",
    "target_nodeids",
    "target_ids",
    "target_weights",
)


def _add_node(
    attrs: dict[str, Any],
    tree_id: int,
    node_id: int,
    *,
    leaf: bool,
    feature: int,
    threshold: float,
    left: int,
    right: int,
    missing_left: bool,
    value: float,
) -> None:
    """Append one node (``x <= threshold`` goes left) to TreeEnsembleRegressor attributes."""
    attrs["nodes_treeids"].append(tree_id)
    attrs["nodes_nodeids"].append(node_id)
    attrs["nodes_featureids"].append(0 if leaf else feature)
    attrs["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
    attrs["nodes_values"].append(0.0 if leaf else _float32_floor(threshold))
    attrs["nodes_truenodeids"].append(0 if leaf else left)
    attrs["nodes_falsenodeids"].append(0 if leaf else right)
    attrs["nodes_missing_value_tracks_true"].append(int(missing_left and not leaf))
    if leaf:
        attrs["target_treeids"].append(tree_id)
        attrs["target_nodeids"].append(node_id)
        attrs["target_ids"].append(0)
        attrs["target_weights"].append(value)


def hist_gbm_graph(model: HistGradientBoostingClassifier, n_features: int) -> onnx.GraphProto:
    """Graph ``features`` -> ``fraud_probability`` for a fitted binary histogram GBM."""
    if model.n_trees_per_iteration_ != 1 or len(model.classes_) != 2:
        raise ModelMismatchError("the baseline exporter handles binary classifiers only")
    if getattr(model, "is_categorical_", None) is not None and np.any(model.is_categorical_):
        raise ModelMismatchError("the baseline exporter does not handle categorical splits")
    attrs: dict[str, Any] = {k: [] for k in _TREE_ATTRS}
    for tree_id, (predictor,) in enumerate(model._predictors):
        for node_id, node in enumerate(predictor.nodes):
            _add_node(
                attrs,
                tree_id,
                node_id,
                leaf=bool(node["is_leaf"]),
                feature=int(node["feature_idx"]),
                threshold=float(node["num_threshold"]),
                left=int(node["left"]),
                right=int(node["right"]),
                missing_left=bool(node["missing_go_to_left"]),
                value=float(node["value"]),
            )
    baseline = float(np.asarray(model._baseline_prediction).ravel()[0])
    trees = helper.make_node(
        "TreeEnsembleRegressor",
        [INPUT],
        ["raw_score"],
        domain="ai.onnx.ml",
        n_targets=1,
        aggregate_function="SUM",
        base_values=[baseline],
        post_transform="NONE",
        **attrs,
    )
    sigmoid = helper.make_node("Sigmoid", ["raw_score"], [f"{FRAUD_OUTPUT}_2d"])
    reshape, shape = flat_output(FRAUD_OUTPUT)
    return helper.make_graph(
        [trees, sigmoid, reshape],
        "hist_gbm",
        [features_input(n_features)],
        [score_output(FRAUD_OUTPUT)],
        initializer=[shape],
    )


def average_path_length(n: np.ndarray) -> np.ndarray:
    """Expected path length of an unsuccessful search in a binary tree of ``n`` points."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def _depths(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    depth = np.zeros(len(left), dtype=np.int64)
    for node in range(len(left)):  # children always come after their parent
        if left[node] >= 0:
            depth[left[node]] = depth[right[node]] = depth[node] + 1
    return depth


def forest_graph(forest: IsolationForest, n_features: int) -> onnx.GraphProto:
    """Graph ``features`` -> ``anomaly_score`` = ``-forest.score_samples``.

    A leaf's contribution to the path length is a constant (its depth plus the average path
    length of the points left in it), so the whole forest is one TreeEnsembleRegressor
    summing leaf constants, then ``2 ** (-sum / (n_trees * c(max_samples)))``. (skl2onnx's
    converter builds ~27 nodes per tree: ~0.8 ms per event at 100 trees.)
    """
    attrs: dict[str, Any] = {k: [] for k in _TREE_ATTRS}
    subsampled = forest._max_features != n_features
    for tree_id, (estimator, features) in enumerate(
        zip(forest.estimators_, forest.estimators_features_, strict=True)
    ):
        tree = estimator.tree_
        left, right = tree.children_left, tree.children_right
        leaf_values = _depths(left, right) + average_path_length(tree.n_node_samples)
        for node_id in range(tree.node_count):
            leaf = bool(left[node_id] < 0)
            feature = int(tree.feature[node_id])
            if not leaf and subsampled:
                feature = int(features[feature])
            _add_node(
                attrs,
                tree_id,
                node_id,
                leaf=leaf,
                feature=feature,
                threshold=float(tree.threshold[node_id]),
                left=int(left[node_id]),
                right=int(right[node_id]),
                missing_left=False,
                value=float(leaf_values[node_id]),
            )
    n_trees = len(forest.estimators_)
    expected = float(average_path_length(np.array([forest.max_samples_]))[0])
    scale = -np.log(2.0) / (n_trees * expected)
    factor = numpy_helper.from_array(np.array([scale], dtype=np.float32), "iso_scale")
    reshape, shape = flat_output(ANOMALY_OUTPUT)
    nodes = [
        helper.make_node(
            "TreeEnsembleRegressor",
            [INPUT],
            ["path_length_sum"],
            domain="ai.onnx.ml",
            n_targets=1,
            aggregate_function="SUM",
            base_values=[0.0],
            post_transform="NONE",
            **attrs,
        ),
        helper.make_node("Mul", ["path_length_sum", factor.name], ["log_anomaly"]),
        helper.make_node("Exp", ["log_anomaly"], [f"{ANOMALY_OUTPUT}_2d"]),
        reshape,
    ]
    return helper.make_graph(
        nodes,
        "isolation_forest",
        [features_input(n_features)],
        [score_output(ANOMALY_OUTPUT)],
        initializer=[factor, shape],
    )
