"""The baseline end to end on a synthetic log: registry, manifest, scores, metrics, parity."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
import polars as pl
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.metrics import average_precision_score
from threadpoolctl import threadpool_limits

from models.baseline import BaselineParams, baseline_onnx, train_baseline
from models.card import CARD_FILE
from models.data import EventLog, replay_log, time_split
from models.exceptions import TrainingDataError
from models.registry import Registry
from models.serving import OnnxScorer
from schemas.features import FeatureSpec
from tests.unit.models.conftest import FAST_PARAMS, Trained


def test_registered_promoted_and_described(trained: Trained) -> None:
    registry = Registry(trained.registry_root)
    assert registry.versions() == [trained.version]
    assert registry.current() == trained.version
    manifest = registry.verify(trained.version)
    assert manifest.kind == "baseline"
    assert manifest.inputs == ["features"]
    assert manifest.outputs.fraud_probability == "fraud_probability"
    assert manifest.outputs.anomaly_score == "anomaly_score"
    assert manifest.feature_set_hash == FeatureSpec().hash()
    assert manifest.feature_spec == FeatureSpec().to_dict()
    assert manifest.training_data_hash == trained.log.fingerprint()
    assert manifest.params["split"]["train_end"] < manifest.params["split"]["val_end"]
    for cut in manifest.thresholds.values():
        assert 0 <= cut.review <= cut.block
    assert manifest.metrics["parity_fraud_max_abs_diff"] < 1e-4
    assert manifest.metrics["parity_anomaly_max_abs_diff"] < 1e-4
    assert (registry.path(trained.version) / CARD_FILE).read_text().startswith("# fraudstream")


def test_fraud_is_ranked_far_above_the_base_rate(trained: Trained) -> None:
    metrics = Registry(trained.registry_root).manifest(trained.version).metrics
    assert metrics["test_frauds"] >= 5
    assert metrics["test_average_precision"] > 10 * metrics["test_base_rate"]
    assert metrics["test_average_precision"] > 0.5
    assert metrics["test_roc_auc"] > 0.9
    assert metrics["test_anomaly_roc_auc"] > 0.6  # label-free, still sees the odd events


def test_served_scores_rank_test_frauds(trained: Trained) -> None:
    """The scorer, fed windows as the worker does, reproduces the recorded test AP."""
    scorer = OnnxScorer.load(Registry(trained.registry_root))
    replayed = replay_log(trained.log, window=scorer.window)
    _, _, test = time_split(trained.log).masks(replayed.ts)
    rows = np.flatnonzero(test)
    fraud, _ = scorer.score(*replayed.replay.windows(rows))
    y = replayed.labels[rows] == 1
    recorded = scorer.manifest.metrics["test_average_precision"]
    assert average_precision_score(y, fraud) == pytest.approx(recorded, abs=1e-6)


def test_thresholds_hit_the_alert_budget_on_validation(trained: Trained) -> None:
    scorer = OnnxScorer.load(Registry(trained.registry_root))
    replayed = replay_log(trained.log, window=scorer.window)
    _, val, _ = time_split(trained.log).masks(replayed.ts)
    rows = np.flatnonzero(val & (replayed.event_types == "transaction"))
    fraud, _ = scorer.score(*replayed.replay.windows(rows))
    cut = scorer.thresholds["transaction"]
    assert (fraud >= cut["review"]).mean() <= 0.01
    assert (fraud >= cut["block"]).mean() <= 0.002


def test_a_second_run_records_its_parent(trained: Trained, tmp_path: Path) -> None:
    registry = trained.registry_copy(tmp_path / "reg")
    version = train_baseline(
        trained.log,
        registry,
        replace(FAST_PARAMS, estimator="gbc", max_iter=30),
        parent_version=trained.version,
        promote=False,
    )
    assert registry.versions() == [trained.version, version]
    assert registry.current() == trained.version  # not promoted
    manifest = registry.manifest(version)
    assert manifest.parent_version == trained.version
    assert manifest.params["estimator"] == "gbc"
    assert manifest.metrics["parity_fraud_max_abs_diff"] < 1e-4
    assert manifest.metrics["test_average_precision"] > 10 * manifest.metrics["test_base_rate"]


def test_progress_reports_every_stage(event_log: EventLog, tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    train_baseline(
        event_log,
        Registry(tmp_path),
        replace(FAST_PARAMS, max_iter=10, forest_trees=10),
        progress=lambda *step: seen.append(step),
    )
    stages = [s for s, _, _ in seen]
    assert list(dict.fromkeys(stages)) == ["replay", "fit", "export", "evaluate", "register"]
    assert all(done == total for s, done, total in seen if s == "register" and done)


def test_a_log_without_fraud_cannot_train(event_log: EventLog, tmp_path: Path) -> None:
    genuine = EventLog(event_log.events.with_columns(pl.lit(False).alias("is_fraud")), None)
    with pytest.raises(TrainingDataError, match="fraud label"):
        train_baseline(genuine, Registry(tmp_path), FAST_PARAMS)
    unlabelled = EventLog(event_log.events.with_columns(pl.lit(None, pl.Boolean).alias("is_fraud")))
    with pytest.raises(TrainingDataError, match="no labels"):
        train_baseline(unlabelled, Registry(tmp_path), FAST_PARAMS)
    assert Registry(tmp_path).versions() == []


@pytest.mark.parametrize("max_features", [1.0, 0.5])
def test_onnx_graph_matches_scikit_learn_exactly(max_features: float) -> None:
    rng = np.random.default_rng(1)
    n, f = 4000, 12
    x = np.concatenate(
        [rng.integers(0, 8, (n, 4)).astype(np.float32), rng.normal(size=(n, f - 4))], axis=1
    ).astype(np.float32)
    x[:, 5] = np.round(x[:, 5], 1)  # many ties at split thresholds
    y = (x[:, 0] + x[:, 5] + rng.normal(size=n) > 4.5).astype(int)
    with threadpool_limits(limits=1):  # OpenMP on a busy CI box is slower, not faster
        classifier = HistGradientBoostingClassifier(max_iter=40, class_weight="balanced")
        classifier.fit(x, y)
        expected = classifier.predict_proba(x)[:, 1]
    forest = IsolationForest(n_estimators=30, max_features=max_features, random_state=0).fit(x)
    model = baseline_onnx(classifier, forest, f, {"k": "v"})
    session = ort.InferenceSession(model.SerializeToString())
    assert [o.name for o in session.get_outputs()] == ["fraud_probability", "anomaly_score"]
    assert [i.name for i in session.get_inputs()] == ["features"]
    fraud, anomaly = session.run(None, {"features": x})
    assert np.abs(fraud - expected).max() < 1e-5
    assert np.abs(anomaly + forest.score_samples(x)).max() < 1e-5
    assert {p.key: p.value for p in model.metadata_props} == {"k": "v"}


def test_default_params_are_sane() -> None:
    params = BaselineParams()
    assert params.estimator == "hist" and params.class_weight == "balanced"
    assert params.review_rate == 0.01 and params.block_rate == 0.002
    assert params.label_delay.days == 7
    assert sum(params.fractions) == pytest.approx(1.0)
