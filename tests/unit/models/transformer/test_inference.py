"""The exported inference module: the training forward's scores, in a graph ONNX Runtime
runs without SkipLayerNormalization."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from models.transformer import FraudSeqConfig, FraudSeqModel, TransformerParams
from models.transformer.export import export_onnx, quantize_int8, session
from models.transformer.inference import InferenceModule
from tests.unit.models.transformer.test_modeling import random_windows, tiny_config


def trained_like(config: FraudSeqConfig) -> FraudSeqModel:
    """A model whose weights are far from the initialisation (large, varied logits)."""
    torch.manual_seed(0)
    model = FraudSeqModel(config).eval()
    with torch.no_grad():
        for weight in model.parameters():
            weight.add_(torch.randn_like(weight) * 0.3)
    return model


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_inference_module_gives_the_training_forward_scores(layers: int) -> None:
    model = trained_like(tiny_config(num_hidden_layers=layers, fraud_logit_offset=-2.5))
    cat, num, mask = random_windows(batch=12, seed=5)
    with torch.no_grad():
        out = model(cat, num, mask)
        fraud, anomaly = InferenceModule(model)(cat, num, mask)
    assert torch.allclose(fraud, model.fraud_probability(out.fraud_logits), atol=1e-6)
    assert torch.allclose(anomaly, out.anomaly_score, rtol=1e-5, atol=1e-4)
    assert fraud.std() > 1e-3 and anomaly.std() > 1e-2  # the windows are told apart


def test_inference_module_leaves_the_model_unchanged() -> None:
    model = trained_like(tiny_config())
    before = {name: p.clone() for name, p in model.state_dict().items()}
    InferenceModule(model)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[name], after[name]) for name in before)


def _scores(sess: ort.InferenceSession, windows: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    feed = dict(zip(("cat", "num", "mask"), (w.numpy() for w in windows), strict=True))
    return sess.run(None, feed)


def test_exported_graph_matches_torch_within_the_parity_tolerance(tmp_path: Path) -> None:
    model = trained_like(tiny_config(fraud_logit_offset=-1.0))
    export_onnx(model, tmp_path / "fp32.onnx", {"fraudstream.kind": "transformer"})
    windows = random_windows(batch=16, seed=7)
    with torch.no_grad():
        fraud, anomaly = model.serve(*windows)
    got_fraud, got_anomaly = _scores(session(tmp_path / "fp32.onnx"), windows)
    tolerance = TransformerParams().parity_tolerance
    assert np.abs(got_fraud - fraud.numpy()).max() <= tolerance
    assert np.abs(got_anomaly - anomaly.numpy()).max() <= tolerance
    graph = onnx.load(str(tmp_path / "fp32.onnx"))
    assert {p.key: p.value for p in graph.metadata_props} == {"fraudstream.kind": "transformer"}
    # the quantized graph keeps the dynamic batch and stays close to fp32
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx")
    int8_fraud, int8_anomaly = _scores(session(tmp_path / "int8.onnx"), windows)
    assert int8_fraud.shape == fraud.shape and np.abs(int8_fraud - fraud.numpy()).max() < 0.05
    assert np.corrcoef(int8_anomaly, anomaly.numpy())[0, 1] > 0.99


def test_runtime_keeps_layer_norms_unfused(tmp_path: Path) -> None:
    """The residual adds are Sums, so ONNX Runtime's optimizer leaves no
    SkipLayerNormalization (its CPU kernel is the slow path at hidden size 64)."""
    model = trained_like(tiny_config())
    export_onnx(model, tmp_path / "fp32.onnx", {})
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx")
    graph = onnx.load(str(tmp_path / "fp32.onnx"))
    producers = {out: node.op_type for node in graph.graph.node for out in node.output}
    norms = [n for n in graph.graph.node if n.op_type == "LayerNormalization"]
    # embeddings + two per layer, each fed by a residual Sum
    assert [producers[n.input[0]] for n in norms] == ["Sum"] * (1 + 2 * 2)
    for name in ("fp32.onnx", "int8.onnx"):
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.optimized_model_filepath = str(tmp_path / f"optimized-{name}")
        ort.InferenceSession(str(tmp_path / name), options, providers=["CPUExecutionProvider"])
        optimized = onnx.load(str(tmp_path / f"optimized-{name}"))
        ops = {node.op_type for node in optimized.graph.node}
        assert "LayerNormalization" in ops and "SkipLayerNormalization" not in ops
