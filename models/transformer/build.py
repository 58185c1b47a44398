"""Train the transformer end to end: replay -> time split -> pretrain -> fine-tune -> ONNX
(fp32 + int8) -> parity -> thresholds and metrics -> registry.

The version folder holds ``model.onnx`` (the served graph: int8 when it costs at most
``max_int8_ap_drop`` validation average precision, else fp32), ``model.fp32.onnx`` (the
unquantized reference), ``hf/`` (``save_pretrained``: config.json + model.safetensors, for
warm starts and inspection), the model card and the manifest.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import polars as pl
import torch
from transformers.utils import logging as hf_logging

from models.card import CARD_FILE, model_card
from models.data import EventLog
from models.data.training import training_set
from models.exceptions import TrainingDataError
from models.manifest import WINDOW_INPUTS, Manifest, Thresholds
from models.registry import MODEL_FILE, Registry
from models.transformer.checkpoint import StageCheckpoint
from models.transformer.config import FraudSeqConfig
from models.transformer.evaluate import evaluate
from models.transformer.export import (
    OUTPUTS,
    check_fp32_parity,
    compare,
    export_onnx,
    onnx_scores,
    quantize_int8,
    session,
)
from models.transformer.modeling import FraudSeqModel
from models.transformer.params import TransformerParams
from models.transformer.train import Progress, finetune, pretrain
from models.transformer.windows import Windows, predict, rng_for, validation_sample, weighted_ap
from schemas.features import FeatureSpec

logger = logging.getLogger(__name__)

HF_DIR = "hf"
FP32_FILE = "model.fp32.onnx"
INT8_FILE = "model.int8.onnx"


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def first_events(event_log: EventLog, count: int) -> EventLog:
    """The log cut to its first ``count`` events (time order), with their feedback only."""
    events = event_log.events.head(count)
    feedback = event_log.feedback
    if feedback is not None:
        feedback = feedback.filter(pl.col("event_id").is_in(events.get_column("event_id")))
    return EventLog(events=events, feedback=feedback, source=event_log.source)


def model_config(params: TransformerParams) -> FraudSeqConfig:
    return FraudSeqConfig(
        window=params.window,
        hidden_size=params.hidden_size,
        num_hidden_layers=params.num_layers,
        num_attention_heads=params.num_heads,
        intermediate_size=params.intermediate_size,
        hidden_dropout_prob=params.dropout,
        attention_probs_dropout_prob=0.0,
    )


@dataclass
class _Run:
    """What one training run knows besides the model: data, split, provenance, timings."""

    params: TransformerParams
    windows: Windows
    types: np.ndarray  # event type per event
    train: np.ndarray  # boolean row masks
    val: np.ndarray
    test: np.ndarray
    split: dict[str, str]
    source: str
    fingerprint: str
    parent_version: str | None
    started: float = field(default_factory=time.perf_counter)
    seconds: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    #: more manifest params (a warm start records its champion and weighted events here)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def y(self) -> np.ndarray:
        return self.windows.labels

    def lap(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = round(now - since, 1)
        return now

    def key(self, stage: str) -> dict[str, Any]:
        body = {"params": self.params.stage_key(stage), "data": self.fingerprint}
        return dict(json.loads(json.dumps(body)))  # as it reads back from trainer_state.json


@contextmanager
def _quiet_hf_progress() -> Iterator[None]:
    """save_pretrained draws a progress bar per call; a run saves every epoch."""
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def train_transformer(
    event_log: EventLog,
    registry: Registry,
    params: TransformerParams | None = None,
    *,
    parent_version: str | None = None,
    promote: bool = True,
    progress: Progress | None = None,
) -> str:
    """Train, check, register (and by default promote) a transformer; returns its version."""
    params = params or TransformerParams()
    threads = torch.get_num_threads()
    torch.set_num_threads(params.threads)
    try:
        with _quiet_hf_progress(), tempfile.TemporaryDirectory(prefix="fsq-") as scratch:
            checkpoints = params.checkpoint_dir or Path(scratch) / "checkpoints"
            report = progress or _no_progress
            run = _prepare(event_log, params, parent_version, report)
            model = _fit(run, Path(checkpoints), report)
            return _export_and_register(
                model, run, Path(scratch) / "build", registry, promote, report
            )
    finally:
        torch.set_num_threads(threads)


def _prepare(
    event_log: EventLog, params: TransformerParams, parent_version: str | None, report: Progress
) -> _Run:
    """Replay the log and split it by time; refuse logs that cannot train a classifier."""
    started = time.perf_counter()
    if params.max_events is not None and len(event_log) > params.max_events:
        event_log = first_events(event_log, params.max_events)
    data = training_set(
        event_log,
        window=params.window,
        label_delay=params.label_delay,
        fractions=params.fractions,
        unlabeled_as_genuine=params.unlabeled_as_genuine,
        report=report,
    )
    replayed, y, split = data.replayed, data.y, data.split
    train, val, test = data.train, data.val, data.test
    if not test.any() or not y[val].any():
        raise TrainingDataError(
            "the validation period has no fraud or the test period no event: early stopping "
            "and thresholds need both — use a longer log"
        )
    run = _Run(
        params=params,
        windows=Windows(replayed.replay, y),
        types=replayed.event_types,
        train=train,
        val=val,
        test=test,
        split=split.to_dict(),
        source=event_log.source,
        fingerprint=event_log.fingerprint(),
        parent_version=parent_version,
        started=started,
    )
    run.lap("replay", started)
    return run


def _fit(run: _Run, checkpoints: Path, report: Progress) -> FraudSeqModel:
    """Stage 1 on the train + validation periods (labels unused), stage 2 on train."""
    params = run.params
    torch.manual_seed(params.seed)
    model = FraudSeqModel(model_config(params))
    mark = time.perf_counter()
    pretrain(
        model,
        run.windows,
        run.train | run.val,
        params,
        StageCheckpoint(checkpoints, "pretrain"),
        run.key("pretrain"),
        report,
    )
    mark = run.lap("pretrain", mark)
    validation = validation_sample(
        run.y, run.val, params.val_genuine, rng_for(params.seed, "validation")
    )
    state = finetune(
        model,
        run.windows,
        run.train,
        validation,
        params,
        StageCheckpoint(checkpoints, "finetune"),
        run.key("finetune"),
        report,
    )
    run.lap("finetune", mark)
    run.best_epoch, run.history = state.best_epoch, state.history
    return model


@dataclass(frozen=True, slots=True)
class _Exported:
    fp32: ort.InferenceSession
    int8: ort.InferenceSession
    metrics: dict[str, float]
    use_int8: bool


def _export(model: FraudSeqModel, run: _Run, folder: Path, report: Progress) -> _Exported:
    """fp32 + int8 graphs in ``folder``, fp32 parity with torch, the int8 AP check."""
    params = run.params
    report("export", 0, 3)
    folder.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(folder / HF_DIR)
    metadata = {
        "fraudstream.kind": "transformer",
        "fraudstream.feature_set_hash": FeatureSpec(window=params.window).hash(),
        "fraudstream.window": str(params.window),
    }
    export_onnx(model, folder / FP32_FILE, metadata)
    quantize_int8(folder / FP32_FILE, folder / INT8_FILE)
    report("export", 1, 3)
    fp32 = session(folder / FP32_FILE, params.threads)
    int8 = session(folder / INT8_FILE, params.threads)
    val_rows = np.flatnonzero(run.val)
    spread = np.linspace(0, len(val_rows) - 1, min(params.parity_rows, len(val_rows)))
    probe = val_rows[spread.astype(int)]
    parity = check_fp32_parity(
        predict(model, run.windows, probe),
        onnx_scores(fp32, run.windows, probe),
        params.parity_tolerance,
    )
    report("export", 2, 3)
    val_fp32 = onnx_scores(fp32, run.windows, val_rows)
    val_int8 = onnx_scores(int8, run.windows, val_rows)
    everyone = np.ones(len(val_rows))
    ap_fp32 = weighted_ap(run.y[val_rows], val_fp32[0], everyone)
    ap_int8 = weighted_ap(run.y[val_rows], val_int8[0], everyone)
    use_int8 = ap_fp32 - ap_int8 <= params.max_int8_ap_drop
    quantized = compare(val_fp32, val_int8)
    shutil.copyfile(folder / (INT8_FILE if use_int8 else FP32_FILE), folder / MODEL_FILE)
    (folder / INT8_FILE).unlink()
    report("export", 3, 3)
    logger.info(
        "int8 check val_ap_fp32=%.4f val_ap_int8=%.4f served=%s",
        ap_fp32,
        ap_int8,
        "int8" if use_int8 else "fp32",
    )
    metrics = {
        "parity_fraud_max_abs_diff": parity.fraud_max_abs_diff,
        "parity_anomaly_max_abs_diff": parity.anomaly_max_abs_diff,
        "int8_fraud_max_abs_diff": quantized.fraud_max_abs_diff,
        "int8_anomaly_max_abs_diff": quantized.anomaly_max_abs_diff,
        "val_average_precision_fp32": ap_fp32,
        "val_average_precision_int8": ap_int8,
        "int8_ap_drop": ap_fp32 - ap_int8,
        "served_int8": float(use_int8),
    }
    return _Exported(fp32, int8, metrics, use_int8)


def _score(exported: _Exported, run: _Run) -> tuple[dict[str, Thresholds], dict[str, float]]:
    """Thresholds on validation and metrics on validation and test, from the served graph."""
    served = exported.int8 if exported.use_int8 else exported.fp32
    rows = np.concatenate([np.flatnonzero(run.val), np.flatnonzero(run.test)])
    fraud, anomaly = onnx_scores(served, run.windows, rows)
    n_val = int(run.val.sum())
    val, test = np.arange(n_val), np.arange(n_val, len(rows))
    params = run.params
    return evaluate(
        fraud, anomaly, run.y[rows], run.types[rows], val, test,
        params.review_rate, params.block_rate,
    )  # fmt: skip


def _export_and_register(
    model: FraudSeqModel,
    run: _Run,
    folder: Path,
    registry: Registry,
    promote: bool,
    report: Progress,
) -> str:
    mark = time.perf_counter()
    exported = _export(model, run, folder, report)
    report("evaluate", 0, 1)
    thresholds, metrics = _score(exported, run)
    metrics.update(exported.metrics)
    report("evaluate", 1, 1)
    run.lap("export_evaluate", mark)
    params = run.params
    manifest = Manifest.for_spec(
        FeatureSpec(window=params.window),
        kind="transformer",
        parent_version=run.parent_version,
        inputs=list(WINDOW_INPUTS),
        outputs=OUTPUTS,
        thresholds=thresholds,
        metrics=metrics,
        training_data_hash=run.fingerprint,
        params={
            **params.to_dict(),
            "split": run.split,
            "source": run.source,
            "events": len(run.y),
            "served_precision": "int8" if exported.use_int8 else "fp32",
            "hf_dir": HF_DIR,
            "reference_onnx": FP32_FILE,
            "parameters": sum(p.numel() for p in model.parameters()),
            "finetune_best_epoch": run.best_epoch,
            "finetune_history": run.history,
            "seconds": run.seconds,
            **run.extra,
        },
    )
    report("register", 0, 1)
    (folder / CARD_FILE).write_text(model_card(manifest, _notes(manifest)), encoding="utf-8")
    version = registry.register(folder, manifest)
    if promote:
        registry.promote(version)
    report("register", 1, 1)
    logger.info(
        "transformer trained version=%s events=%d test_ap=%.4f test_auc=%.4f served=%s "
        "promoted=%s seconds=%.1f",
        version,
        len(run.y),
        metrics.get("test_average_precision", float("nan")),
        metrics.get("test_roc_auc", float("nan")),
        manifest.params["served_precision"],
        promote,
        time.perf_counter() - run.started,
    )
    return version


def _notes(manifest: Manifest) -> str:
    p, m = manifest.params, manifest.metrics
    return (
        f"Event-sequence transformer ({p['num_layers']} layers, hidden {p['hidden_size']}, "
        f"{p['parameters']:,} parameters, K={manifest.window}) with causal attention. "
        "`fraud_probability` is the fraud head on the scored event; `anomaly_score` is the "
        "negative log-likelihood (nats) of the scored event's categorical fields under the "
        "next-event head one position earlier (label-free surprise). "
        f"Served graph: {p['served_precision']} (validation AP fp32 "
        f"{m['val_average_precision_fp32']:.4f}, int8 {m['val_average_precision_int8']:.4f}). "
        f"Weights: `{p['hf_dir']}/` (save_pretrained, safetensors)."
    )
