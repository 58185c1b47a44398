"""The baseline as ONE ONNX graph: input ``features`` [B, F] float32, two outputs.

``fraud_probability`` [B] from the classifier and ``anomaly_score`` [B] from the
IsolationForest (see :mod:`models.baseline.onnx_trees`); both branches share the input.
A GradientBoostingClassifier (the fallback estimator) goes through skl2onnx.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import onnx
from onnx import compose, helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    IsolationForest,
)

from models.baseline.onnx_trees import (
    FRAUD_OUTPUT,
    INPUT,
    forest_graph,
    hist_gbm_graph,
    score_output,
)

OPSET = 17
ML_OPSET = 3
OPSETS = {"": OPSET, "ai.onnx.ml": ML_OPSET}
IR_VERSION = 8

Classifier: TypeAlias = HistGradientBoostingClassifier | GradientBoostingClassifier


def _skl2onnx_graph(model: object, n_features: int, options: dict | None = None) -> onnx.GraphProto:
    converted = convert_sklearn(
        model,
        initial_types=[(INPUT, FloatTensorType([None, n_features]))],
        options=options,
        target_opset=OPSETS,
    )
    return converted.graph


def gbc_graph(model: GradientBoostingClassifier, n_features: int) -> onnx.GraphProto:
    """Graph ``features`` -> ``fraud_probability`` for a fitted binary GBM (via skl2onnx)."""
    graph = _skl2onnx_graph(model, n_features, {id(model): {"zipmap": False}})
    probabilities = next(o.name for o in graph.output if o.name != "label")
    index = numpy_helper.from_array(np.array(1, dtype=np.int64), name="positive_class")
    gather = helper.make_node("Gather", [probabilities, index.name], [FRAUD_OUTPUT], axis=1)
    graph.node.append(gather)
    graph.initializer.append(index)
    del graph.output[:]
    graph.output.append(score_output(FRAUD_OUTPUT))
    return graph


def classifier_graph(model: Classifier, n_features: int) -> onnx.GraphProto:
    if isinstance(model, HistGradientBoostingClassifier):
        return hist_gbm_graph(model, n_features)
    return gbc_graph(model, n_features)


def merge_graphs(
    fraud: onnx.GraphProto, anomaly: onnx.GraphProto, metadata: dict[str, str]
) -> onnx.ModelProto:
    """One model whose two branches share the ``features`` input."""
    branches = [
        compose.add_prefix_graph(g, prefix, rename_inputs=False, rename_outputs=False)
        for g, prefix in ((fraud, "fraud/"), (anomaly, "anomaly/"))
    ]
    graph = helper.make_graph(
        [n for g in branches for n in g.node],
        "fraudstream_baseline",
        [branches[0].input[0]],
        [*branches[0].output, *branches[1].output],
        initializer=[i for g in branches for i in g.initializer],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(domain, v) for domain, v in OPSETS.items()],
        producer_name="fraudstream",
    )
    model.ir_version = IR_VERSION
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model, full_check=True)
    return model


def baseline_onnx(
    classifier: Classifier, forest: IsolationForest, n_features: int, metadata: dict[str, str]
) -> onnx.ModelProto:
    """Classifier and forest as one ONNX model (see the module docstring)."""
    return merge_graphs(
        classifier_graph(classifier, n_features), forest_graph(forest, n_features), metadata
    )
