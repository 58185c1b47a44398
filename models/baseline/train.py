"""Train the baseline: replay -> time split -> GBM + IsolationForest -> one ONNX -> registry.

The classifier reads the scored event's own token (``last_token_features``, the same
function the scorer calls); the token already carries the account's velocity, novelty and
merchant-risk aggregates, so this is the "gradient boosting on engineered aggregates"
baseline the transformer is compared with.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from sklearn.ensemble import IsolationForest
from threadpoolctl import threadpool_limits

from models.baseline.fit import fit_classifier, fit_forest
from models.baseline.onnx_export import Classifier, baseline_onnx
from models.baseline.onnx_trees import ANOMALY_OUTPUT, FRAUD_OUTPUT, INPUT
from models.baseline.params import BaselineParams
from models.card import CARD_FILE, model_card
from models.data import EventLog
from models.data.training import training_set
from models.evaluation import alert_rates, choose_thresholds, ranking_metrics
from models.exceptions import ParityError, TrainingDataError
from models.manifest import Manifest, OutputNames, Thresholds
from models.registry import MODEL_FILE, Registry
from models.serving.inputs import FEATURE_NAMES, last_token_features
from models.serving.onnx_scorer import session_options
from schemas.features import FeatureSpec

logger = logging.getLogger(__name__)

#: progress callback: (stage, done, total); stages replay, fit, export, evaluate, register
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class _Rows:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _check_parity(
    session: ort.InferenceSession,
    classifier: Classifier,
    forest: IsolationForest,
    x: np.ndarray,
    tolerance: float,
) -> dict[str, float]:
    fraud, anomaly = session.run([FRAUD_OUTPUT, ANOMALY_OUTPUT], {INPUT: x})
    fraud_diff = float(np.max(np.abs(fraud - classifier.predict_proba(x)[:, 1]), initial=0.0))
    anomaly_diff = float(np.max(np.abs(anomaly + forest.score_samples(x)), initial=0.0))
    if fraud_diff > tolerance or anomaly_diff > tolerance:
        raise ParityError(
            f"ONNX differs from scikit-learn on {len(x)} validation rows: fraud probability by "
            f"{fraud_diff:.2e}, anomaly score by {anomaly_diff:.2e} (tolerance {tolerance:.0e}); "
            "the model was not registered — report this with the scikit-learn/onnx versions"
        )
    logger.info(
        "onnx parity rows=%d fraud_diff=%.2e anomaly_diff=%.2e", len(x), fraud_diff, anomaly_diff
    )
    return {"parity_fraud_max_abs_diff": fraud_diff, "parity_anomaly_max_abs_diff": anomaly_diff}


def _evaluate(
    fraud: np.ndarray,
    anomaly: np.ndarray,
    y: np.ndarray,
    types: np.ndarray,
    rows: _Rows,
    params: BaselineParams,
) -> tuple[dict[str, Thresholds], dict[str, float]]:
    """Thresholds for the alert budgets on validation; metrics on validation and test."""
    thresholds = choose_thresholds(
        fraud[rows.val], types[rows.val], params.review_rate, params.block_rate
    )
    anomaly_metrics = ranking_metrics(y[rows.test], anomaly[rows.test])
    metrics = {
        **ranking_metrics(y[rows.val], fraud[rows.val], "val_"),
        **ranking_metrics(y[rows.test], fraud[rows.test], "test_"),
        **{
            f"test_anomaly_{name}": value
            for name, value in anomaly_metrics.items()
            if name in ("roc_auc", "average_precision")
        },
    }
    alerted, blocked = alert_rates(fraud[rows.test], types[rows.test], thresholds)
    metrics["test_review_rate"] = float(alerted.mean())
    metrics["test_block_rate"] = float(blocked.mean())
    test_frauds = y[rows.test] == 1
    if test_frauds.any():
        metrics["test_recall_at_review"] = float(alerted[test_frauds].mean())
        metrics["test_recall_at_block"] = float(blocked[test_frauds].mean())
    return thresholds, metrics


def train_baseline(
    event_log: EventLog,
    registry: Registry,
    params: BaselineParams | None = None,
    *,
    parent_version: str | None = None,
    promote: bool = True,
    progress: Progress | None = None,
    event_weights: Mapping[str, float] | None = None,
) -> str:
    """Train, check, register (and by default promote) a baseline; returns its version.

    ``event_weights`` (event id -> weight, others 1.0) weights the classifier's training rows.
    """
    params = params or BaselineParams()
    with threadpool_limits(limits=params.threads):
        return _train(event_log, registry, params, parent_version, promote, progress, event_weights)


def _row_weights(event_log: EventLog, weights: Mapping[str, float] | None) -> np.ndarray | None:
    if not weights:
        return None
    ids = event_log.events.get_column("event_id").to_list()
    return np.array([weights.get(event_id, 1.0) for event_id in ids], dtype=np.float64)


def _train(
    event_log: EventLog,
    registry: Registry,
    params: BaselineParams,
    parent_version: str | None,
    promote: bool,
    progress: Progress | None,
    event_weights: Mapping[str, float] | None = None,
) -> str:
    report = progress or _no_progress
    spec = FeatureSpec(window=params.window)
    n = len(event_log)
    data = training_set(
        event_log,
        window=params.window,
        label_delay=params.label_delay,
        fractions=params.fractions,
        unlabeled_as_genuine=params.unlabeled_as_genuine,
        report=report,
    )
    replayed, y, split = data.replayed, data.y, data.split
    x = last_token_features(replayed.replay.cat, replayed.replay.num)
    rows = _Rows(data.train, data.val, data.test)
    if not rows.val.any() or not rows.test.any():
        raise TrainingDataError("the validation or test period has no usable events")

    report("fit", 0, 2)
    weights = _row_weights(event_log, event_weights)
    classifier = fit_classifier(
        x[rows.train], y[rows.train], params, None if weights is None else weights[rows.train]
    )
    report("fit", 1, 2)
    forest = fit_forest(x[rows.train], params)
    report("fit", 2, 2)

    report("export", 0, 1)
    onnx_model = baseline_onnx(
        classifier,
        forest,
        x.shape[1],
        {
            "fraudstream.kind": "baseline",
            "fraudstream.feature_set_hash": spec.hash(),
            "fraudstream.features": ",".join(FEATURE_NAMES),
        },
    )
    data = onnx_model.SerializeToString()
    session = ort.InferenceSession(data, session_options(), providers=["CPUExecutionProvider"])
    parity = _check_parity(
        session, classifier, forest, x[rows.val][: params.parity_rows], params.parity_tolerance
    )
    report("export", 1, 1)

    report("evaluate", 0, 1)
    fraud, anomaly = session.run([FRAUD_OUTPUT, ANOMALY_OUTPUT], {INPUT: x})
    thresholds, metrics = _evaluate(fraud, anomaly, y, replayed.event_types, rows, params)
    metrics.update(parity)
    iterations = int(getattr(classifier, "n_iter_", getattr(classifier, "n_estimators_", 0)))
    report("evaluate", 1, 1)

    manifest = Manifest.for_spec(
        spec,
        kind="baseline",
        parent_version=parent_version,
        inputs=[INPUT],
        outputs=OutputNames(fraud_probability=FRAUD_OUTPUT, anomaly_score=ANOMALY_OUTPUT),
        thresholds=thresholds,
        metrics=metrics,
        training_data_hash=event_log.fingerprint(),
        params={
            **params.to_dict(),
            "split": split.to_dict(),
            "source": event_log.source,
            "events": n,
            "boosting_iterations": iterations,
            "weighted_events": 0 if weights is None else int((weights != 1.0).sum()),
        },
    )
    report("register", 0, 1)
    with tempfile.TemporaryDirectory(prefix="fraudstream-baseline-") as build:
        (Path(build) / MODEL_FILE).write_bytes(data)
        (Path(build) / CARD_FILE).write_text(model_card(manifest), encoding="utf-8")
        version = registry.register(Path(build), manifest)
    if promote:
        registry.promote(version)
    report("register", 1, 1)
    logger.info(
        "baseline trained version=%s events=%d test_ap=%.4f test_auc=%.4f promoted=%s",
        version,
        n,
        metrics.get("test_average_precision", float("nan")),
        metrics.get("test_roc_auc", float("nan")),
        promote,
    )
    return version
