"""OnnxScorer: loads only verified, matching models and feeds them what the manifest names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from models.data import replay_log
from models.exceptions import ModelIntegrityError, ModelMismatchError
from models.manifest import Manifest, Thresholds
from models.registry import MANIFEST_FILE, MODEL_FILE, Registry
from models.serving import OnnxScorer, Scorer, decide, last_token_features
from models.serving.inputs import N_CAT, N_NUM
from schemas import Decision
from schemas.features import FeatureSpec
from tests.unit.models.conftest import Trained


@pytest.fixture(scope="module")
def windows(trained: Trained) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cat, num, mask, the replay's own last tokens) for 300 events."""
    replayed = replay_log(trained.log, window=FeatureSpec().window)
    rows = np.arange(0, len(replayed), max(1, len(replayed) // 300))[:300]
    cat, num, mask = replayed.replay.windows(rows)
    return cat, num, mask, replayed.replay.last_tokens()[rows]


def test_loads_the_current_model_and_scores_probabilities(trained: Trained, windows) -> None:
    scorer = OnnxScorer.load(Registry(trained.registry_root))
    assert isinstance(scorer, Scorer)
    assert scorer.version == trained.version
    assert scorer.window == FeatureSpec().window
    assert scorer.positions == 1  # a flat-features baseline reads the scored event only
    assert set(scorer.thresholds) == {"transaction", "login"}
    assert scorer.sha256 == Registry(trained.registry_root).manifest(trained.version).sha256
    cat, num, mask, _ = windows
    fraud, anomaly = scorer.score(cat, num, mask)
    assert fraud.shape == anomaly.shape == (len(cat),)
    assert ((fraud >= 0) & (fraud <= 1)).all()
    assert ((anomaly > 0) & (anomaly <= 1)).all()
    assert fraud.std() > 0 and anomaly.std() > 0


def test_flattening_is_the_replays_last_token_layout(windows) -> None:
    cat, num, _, last = windows
    assert np.array_equal(last_token_features(cat, num), last)
    assert np.array_equal(last_token_features(cat[:, -1], num[:, -1]), last)


def test_scores_do_not_depend_on_the_batch(trained: Trained, windows) -> None:
    scorer = OnnxScorer.load(Registry(trained.registry_root), trained.version)
    cat, num, mask, _ = windows
    fraud, anomaly = scorer.score(cat, num, mask)
    for i in (0, 7, len(cat) - 1):
        one_fraud, one_anomaly = scorer.score(cat[i : i + 1], num[i : i + 1], mask[i : i + 1])
        assert one_fraud[0] == pytest.approx(fraud[i], abs=1e-6)
        assert one_anomaly[0] == pytest.approx(anomaly[i], abs=1e-6)


def test_session_runs_on_one_thread_without_spinning(trained: Trained) -> None:
    options = OnnxScorer.load(Registry(trained.registry_root)).session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_tampered_model_is_refused(trained: Trained, tmp_path: Path) -> None:
    registry = trained.registry_copy(tmp_path / "reg")
    model = registry.model_path(trained.version)
    data = bytearray(model.read_bytes())
    data[-1] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        OnnxScorer.load(registry)


def _edit_manifest(registry: Registry, version: str, **changes: object) -> None:
    path = registry.path(version) / MANIFEST_FILE
    body = json.loads(path.read_text())
    body.update(changes)
    path.write_text(json.dumps(body))


def test_model_for_another_feature_set_is_refused(trained: Trained, tmp_path: Path) -> None:
    registry = trained.registry_copy(tmp_path / "reg")
    _edit_manifest(registry, trained.version, feature_set_hash="0" * 64)
    with pytest.raises(ModelMismatchError) as err:
        OnnxScorer.load(registry)
    assert "feature set 000000000000" in str(err.value) and "\n" not in str(err.value)


def test_manifest_inputs_must_match_the_graph(trained: Trained, tmp_path: Path) -> None:
    registry = trained.registry_copy(tmp_path / "reg")
    _edit_manifest(registry, trained.version, inputs=["cat", "num", "mask"])
    with pytest.raises(ModelMismatchError, match="graph takes"):
        OnnxScorer.load(registry)
    _edit_manifest(registry, trained.version, inputs=["tokens"])
    with pytest.raises(ModelMismatchError, match="takes inputs"):
        OnnxScorer.load(registry)


def _window_model(path: Path) -> None:
    """fraud = sigmoid(number of real tokens - 3), anomaly = sum of num over the window."""
    cat = helper.make_tensor_value_info("cat", TensorProto.INT64, [None, None, N_CAT])
    num = helper.make_tensor_value_info("num", TensorProto.FLOAT, [None, None, N_NUM])
    mask = helper.make_tensor_value_info("mask", TensorProto.INT64, [None, None])
    axes1 = helper.make_tensor("axes1", TensorProto.INT64, [1], [1])
    axes12 = helper.make_tensor("axes12", TensorProto.INT64, [2], [1, 2])
    three = helper.make_tensor("three", TensorProto.FLOAT, [], [3.0])
    nodes = [
        helper.make_node("Cast", ["mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["maskf", "axes1"], ["n"], keepdims=0),
        helper.make_node("Sub", ["n", "three"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["fraud_probability"]),
        helper.make_node("ReduceSum", ["num", "axes12"], ["anomaly_score"], keepdims=0),
        helper.make_node("Shape", ["cat"], ["unused"]),
    ]
    graph = helper.make_graph(
        nodes,
        "window",
        [cat, num, mask],
        [
            helper.make_tensor_value_info("fraud_probability", TensorProto.FLOAT, [None]),
            helper.make_tensor_value_info("anomaly_score", TensorProto.FLOAT, [None]),
        ],
        initializer=[axes1, axes12, three],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def test_window_models_get_the_three_arrays_fitted_to_their_window(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    _window_model(build / MODEL_FILE)
    cut = Thresholds(review=0.5, block=0.9)
    registry = Registry(tmp_path / "reg")
    version = registry.register(
        build,
        Manifest.for_spec(
            FeatureSpec(window=4),
            kind="transformer",
            inputs=["cat", "num", "mask"],
            thresholds={"transaction": cut, "login": cut},
        ),
    )
    scorer = OnnxScorer.load(registry, version)
    assert scorer.window == 4
    k = 6
    mask = np.array([[1] * 6, [0, 0, 0, 0, 0, 1]], dtype=np.int64)
    cat = np.ones((2, k, N_CAT), dtype=np.int64) * mask[..., None]
    num = np.ones((2, k, N_NUM), dtype=np.float32) * mask[..., None]
    fraud, anomaly = scorer.score(cat, num, mask)  # only the last 4 positions are read
    assert fraud == pytest.approx([1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(2.0))], rel=1e-5)
    assert anomaly == pytest.approx([4 * N_NUM, N_NUM])
    fraud, _ = scorer.score(cat[:, -2:], num[:, -2:], mask[:, -2:])  # left-padded to 4
    assert fraud == pytest.approx([1 / (1 + np.exp(1.0)), 1 / (1 + np.exp(2.0))], rel=1e-5)


def test_decide_uses_the_event_types_thresholds() -> None:
    table = {
        "transaction": {"review": 0.5, "block": 0.9},
        "login": {"review": 0.2, "block": 0.4},
    }
    assert decide(0.49, "transaction", table) is Decision.ALLOW
    assert decide(0.5, "transaction", table) is Decision.REVIEW
    assert decide(0.9, "transaction", table) is Decision.BLOCK
    assert decide(0.3, "login", table) is Decision.REVIEW
    assert decide(0.4, "login", table) is Decision.BLOCK
    with pytest.raises(ModelMismatchError, match="'payout'"):
        decide(0.3, "payout", table)


def test_a_channels_own_cut_offs_win_over_its_event_types() -> None:
    table = {
        "transaction": {"review": 0.5, "block": 0.9},
        "transaction/transfer": {"review": 0.2, "block": 0.3},
        "login": {"review": 0.2, "block": 0.4},
    }
    assert decide(0.25, "transaction", table, "transfer") is Decision.REVIEW
    assert decide(0.3, "transaction", table, "transfer") is Decision.BLOCK
    assert decide(0.3, "transaction", table, "pos") is Decision.ALLOW  # no key: the type's
    assert decide(0.3, "transaction", table) is Decision.ALLOW
    assert decide(0.3, "login", table, None) is Decision.REVIEW
