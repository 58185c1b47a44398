"""Fresh baselines, always reported beside the evaluated models.

A gradient-boosted classifier and an IsolationForest are fitted on the *train* period of the
evaluation's own replay (the trainer's building blocks and features, so they are the
registered baseline retrained on exactly this data), exported to one ONNX graph and served
by the same :class:`models.serving.OnnxScorer` as a registered model. Nothing is registered.
"""

from __future__ import annotations

import logging

import numpy as np
import onnxruntime as ort
from threadpoolctl import threadpool_limits

from models.baseline import BaselineParams, baseline_onnx, fit_classifier, fit_forest
from models.baseline.onnx_trees import ANOMALY_OUTPUT, FRAUD_OUTPUT, INPUT
from models.data import ReplayedLog
from models.evaluation.exceptions import EvaluationError
from models.evaluation.thresholds import choose_thresholds
from models.manifest import Manifest, OutputNames
from models.serving import FEATURE_NAMES, OnnxScorer, last_token_features
from models.serving.onnx_scorer import session_options
from schemas.features import FeatureSpec

log = logging.getLogger(__name__)

#: the version name the fresh baselines are reported under
FRESH_VERSION = "fresh-baseline"


def fraud_labels(replayed: ReplayedLog, params: BaselineParams) -> tuple[np.ndarray, np.ndarray]:
    """(0/1 labels, usable rows), as the trainer reads them."""
    y = (replayed.labels == 1).astype(np.int8)
    if params.unlabeled_as_genuine:
        return y, np.ones(len(y), dtype=bool)
    return y, replayed.labels >= 0


def fresh_baseline(
    replayed: ReplayedLog,
    train: np.ndarray,
    val: np.ndarray,
    params: BaselineParams | None = None,
) -> OnnxScorer:
    """Fit on rows ``train``, choose thresholds on rows ``val``; an ONNX scorer of both.

    The scorer's fraud output is the classifier, its anomaly output the forest.
    """
    params = params or BaselineParams()
    x = last_token_features(replayed.replay.cat, replayed.replay.num)
    y, usable = fraud_labels(replayed, params)
    train, val = train & usable, val & usable
    frauds = int(y[train].sum())
    if frauds < 2 or frauds == int(train.sum()):
        raise EvaluationError(
            f"the train period has {frauds} fraud label(s) among {int(train.sum())} events, "
            "too few to fit the comparison baseline; evaluate on a longer labelled log"
        )
    if not val.any():
        raise EvaluationError("the validation period is empty: no thresholds for the baseline")
    with threadpool_limits(limits=params.threads):
        classifier = fit_classifier(x[train], y[train], params)
        forest = fit_forest(x[train], params)
    spec = FeatureSpec(window=params.window)
    model = baseline_onnx(
        classifier,
        forest,
        x.shape[1],
        {
            "fraudstream.kind": "baseline",
            "fraudstream.feature_set_hash": spec.hash(),
            "fraudstream.features": ",".join(FEATURE_NAMES),
        },
    )
    session = ort.InferenceSession(
        model.SerializeToString(), session_options(1), providers=["CPUExecutionProvider"]
    )
    (fraud_val,) = session.run([FRAUD_OUTPUT], {INPUT: x[val]})
    thresholds = choose_thresholds(
        fraud_val, replayed.event_types[val], params.review_rate, params.block_rate
    )
    manifest = Manifest.for_spec(
        spec,
        version=FRESH_VERSION,
        kind="baseline",
        inputs=[INPUT],
        outputs=OutputNames(fraud_probability=FRAUD_OUTPUT, anomaly_score=ANOMALY_OUTPUT),
        thresholds=thresholds,
        params=params.to_dict(),
    )
    log.info(
        "fresh baseline fitted train_rows=%d train_frauds=%d iterations=%d",
        int(train.sum()),
        frauds,
        int(getattr(classifier, "n_iter_", getattr(classifier, "n_estimators_", 0))),
    )
    return OnnxScorer(
        version=FRESH_VERSION,
        window=params.window,
        thresholds=manifest.threshold_table(),
        manifest=manifest,
        session=session,
    )
