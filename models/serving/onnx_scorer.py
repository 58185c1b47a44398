"""Serve a registered ONNX model: verified, checked against this code, one thread, no spin.

A worker scores micro-batches on its own event loop, so the session runs sequentially on
one intra-op thread with spinning off: no thread pool competing with the consumer, and an
idle worker costs no CPU. Scale comes from more partitions and processes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort

from models.exceptions import ModelMismatchError
from models.manifest import EVENT_TYPES, FEATURES_INPUTS, WINDOW_INPUTS, Manifest
from models.registry import Registry
from models.serving.inputs import N_CAT, N_NUM, last_token_features
from schemas.features import FeatureSpec

log = logging.getLogger(__name__)


def session_options(threads: int = 1) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def check_manifest(manifest: Manifest, spec: FeatureSpec) -> None:
    """Refuse a model this code cannot feed or decide on (one clear line)."""
    where = f"model {manifest.version}"
    if manifest.feature_set_hash != spec.hash():
        raise ModelMismatchError(
            f"{where} was trained on feature set {manifest.feature_set_hash[:12]}…, this code "
            f"computes {spec.hash()[:12]}… (feature rules v{spec.version}); retrain it "
            "(`fraudstream train`) or promote a model trained with this code"
        )
    if tuple(manifest.inputs) not in (FEATURES_INPUTS, WINDOW_INPUTS):
        raise ModelMismatchError(
            f"{where} takes inputs {manifest.inputs}; this scorer feeds "
            f"{list(FEATURES_INPUTS)} or {list(WINDOW_INPUTS)}"
        )
    missing = [t for t in EVENT_TYPES if t not in manifest.thresholds]
    if missing:
        raise ModelMismatchError(f"{where} has no thresholds for {', '.join(missing)}")


def _check_session(session: ort.InferenceSession, manifest: Manifest) -> None:
    where = f"model {manifest.version}"
    inputs = {i.name: i for i in session.get_inputs()}
    if set(inputs) != set(manifest.inputs):
        raise ModelMismatchError(
            f"{where}: the ONNX graph takes {sorted(inputs)}, its manifest says {manifest.inputs}"
        )
    if tuple(manifest.inputs) == FEATURES_INPUTS:
        width = inputs["features"].shape[-1]
        if isinstance(width, int) and width != N_CAT + N_NUM:
            raise ModelMismatchError(
                f"{where} reads {width} features per event; this code makes {N_CAT + N_NUM}"
            )
    outputs = {o.name for o in session.get_outputs()}
    wanted = {manifest.outputs.fraud_probability, manifest.outputs.anomaly_score}
    if not wanted <= outputs:
        raise ModelMismatchError(
            f"{where}: the ONNX graph has outputs {sorted(outputs)}, "
            f"its manifest names {sorted(wanted)}"
        )


def fit_window(
    cat: np.ndarray, num: np.ndarray, mask: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the last ``window`` positions, or left-pad up to ``window``."""
    k = cat.shape[1]
    if k > window:
        return cat[:, -window:], num[:, -window:], mask[:, -window:]
    if k < window:
        pad = window - k
        return (
            np.pad(cat, ((0, 0), (pad, 0), (0, 0))),
            np.pad(num, ((0, 0), (pad, 0), (0, 0))),
            np.pad(mask, ((0, 0), (pad, 0))),
        )
    return cat, num, mask


@dataclass(eq=False)
class OnnxScorer:
    """A :class:`models.serving.Scorer` backed by ONNX Runtime."""

    version: str
    window: int
    thresholds: Mapping[str, Mapping[str, float]]
    manifest: Manifest
    session: ort.InferenceSession = field(repr=False)

    @property
    def sha256(self) -> str:
        """sha256 of the model.onnx bytes this scorer runs (verified at load)."""
        return self.manifest.sha256

    def __post_init__(self) -> None:
        self._outputs = [
            self.manifest.outputs.fraud_probability,
            self.manifest.outputs.anomaly_score,
        ]
        self._flat = tuple(self.manifest.inputs) == FEATURES_INPUTS

    @property
    def positions(self) -> int:
        """A flat-features model reads only the scored event; a sequence model its window."""
        return 1 if self._flat else self.window

    @classmethod
    def load(
        cls,
        registry: Registry,
        version: str | None = None,
        *,
        spec: FeatureSpec | None = None,
        threads: int = 1,
    ) -> OnnxScorer:
        """Load ``version`` (the current one when None), verified and checked."""
        version = registry.resolve(version)
        manifest, data = registry.read_verified(version)
        check_manifest(manifest, spec or FeatureSpec())
        session = ort.InferenceSession(
            data, sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )
        _check_session(session, manifest)
        log.info(
            "model loaded version=%s kind=%s inputs=%s window=%d",
            version,
            manifest.kind,
            ",".join(manifest.inputs),
            manifest.window,
        )
        return cls(
            version=version,
            window=manifest.window,
            thresholds=manifest.threshold_table(),
            manifest=manifest,
            session=session,
        )

    def score(
        self, cat: np.ndarray, num: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(fraud probability [B], anomaly score [B]) for a batch of windows."""
        if self._flat:
            feed = {"features": last_token_features(cat, num)}
        else:
            cat, num, mask = fit_window(cat, num, mask, self.window)
            feed = {
                "cat": np.ascontiguousarray(cat, dtype=np.int64),
                "num": np.ascontiguousarray(num, dtype=np.float32),
                "mask": np.ascontiguousarray(mask, dtype=np.int64),
            }
        fraud, anomaly = self.session.run(self._outputs, feed)
        return np.clip(fraud.reshape(-1), 0.0, 1.0), anomaly.reshape(-1)
