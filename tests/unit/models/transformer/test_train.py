"""The transformer end to end on the synthetic log: pretrain -> fine-tune -> ONNX -> registry
-> OnnxScorer, and checkpoints that resume."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from sklearn.metrics import average_precision_score

from models.card import CARD_FILE
from models.data import EventLog, replay_log, time_split
from models.exceptions import TrainingDataError
from models.registry import MODEL_FILE, Registry
from models.serving import OnnxScorer
from models.transformer import FraudSeqModel, StageCheckpoint, finetune, train_transformer
from models.transformer.build import FP32_FILE, HF_DIR, model_config
from models.transformer.windows import Windows, rng_for, validation_sample
from schemas.features import FeatureSpec
from tests.unit.models.transformer.conftest import TINY, TrainedTransformer

pytestmark = pytest.mark.slow


def test_registered_with_weights_graphs_and_manifest(
    trained_transformer: TrainedTransformer,
) -> None:
    registry = trained_transformer.registry
    assert registry.current() == trained_transformer.version
    manifest = registry.verify(trained_transformer.version)
    assert manifest.kind == "transformer"
    assert manifest.inputs == ["cat", "num", "mask"]
    assert manifest.window == TINY.window
    assert manifest.feature_set_hash == FeatureSpec().hash()
    assert manifest.training_data_hash == trained_transformer.log.fingerprint()
    assert manifest.metrics["parity_fraud_max_abs_diff"] < 1e-4
    assert manifest.metrics["parity_anomaly_max_abs_diff"] < 1e-4
    assert manifest.metrics["served_int8"] == float(manifest.metrics["int8_ap_drop"] <= 0.01)
    assert manifest.params["split"]["train_end"] < manifest.params["split"]["val_end"]
    folder = registry.path(trained_transformer.version)
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {MODEL_FILE, FP32_FILE, CARD_FILE, f"{HF_DIR}/config.json",
            f"{HF_DIR}/model.safetensors"} <= files  # fmt: skip
    assert not [f for f in files if f.endswith((".pt", ".bin", ".pkl", ".pickle"))]
    assert trained_transformer.stages == [
        "replay", "pretrain", "finetune", "export", "evaluate", "register",
    ]  # fmt: skip


def test_fraud_is_ranked_far_above_the_base_rate(trained_transformer: TrainedTransformer) -> None:
    metrics = trained_transformer.registry.manifest(trained_transformer.version).metrics
    assert metrics["test_frauds"] >= 5
    assert metrics["test_average_precision"] > 10 * metrics["test_base_rate"]
    assert metrics["test_average_precision"] > 0.5
    assert metrics["test_roc_auc"] > 0.9
    assert metrics["test_anomaly_roc_auc"] > 0.6  # label-free surprise sees the odd events


def test_the_scorer_serves_it_unchanged_and_matches_torch(
    trained_transformer: TrainedTransformer,
) -> None:
    registry = trained_transformer.registry
    scorer = OnnxScorer.load(registry)
    assert scorer.window == TINY.window
    replayed = replay_log(trained_transformer.log, window=scorer.window)
    _, val, test = time_split(trained_transformer.log).masks(replayed.ts)
    rows = np.flatnonzero(test)
    cat, num, mask = replayed.replay.windows(rows)
    fraud, anomaly = scorer.score(cat, num, mask)

    # the recorded AP comes from training's scoring (validation then test, batches of
    # 1024); int8 dynamic quantization scales each batch, so the test events are scored in
    # those same batches here, or near-tied scores can swap places
    both = np.concatenate([np.flatnonzero(val), rows])
    parts = [scorer.score(*replayed.replay.windows(both[i : i + 1024]))[0]
             for i in range(0, len(both), 1024)]  # fmt: skip
    as_trained = np.concatenate(parts)[int(val.sum()) :]
    recorded = scorer.manifest.metrics["test_average_precision"]
    assert average_precision_score(replayed.labels[rows] == 1, as_trained) == pytest.approx(
        recorded, abs=1e-6
    )
    model = FraudSeqModel.from_pretrained(registry.path(scorer.version) / HF_DIR).eval()
    with torch.no_grad():
        torch_fraud, torch_anomaly = model.serve(*map(torch.from_numpy, (cat, num, mask)))
    # int8 (or fp32) graph vs fp32 torch
    assert np.abs(fraud - torch_fraud.numpy()).max() < 0.02
    assert (
        np.abs(anomaly - torch_anomaly.numpy()).max() < 0.05 * np.abs(torch_anomaly.numpy()).max()
    )
    # the worker may score a longer window: the scorer trims it to K. (Dynamic int8 picks
    # one activation scale per batch, so another batch moves a score by ~1e-4, not more.)
    long = replay_log(trained_transformer.log, window=2 * scorer.window).replay.windows(rows[:50])
    again, _ = scorer.score(*long)
    assert np.allclose(again, fraud[:50], atol=2e-3)


def test_thresholds_hit_the_alert_budget_on_validation(
    trained_transformer: TrainedTransformer,
) -> None:
    scorer = OnnxScorer.load(trained_transformer.registry)
    replayed = replay_log(trained_transformer.log, window=scorer.window)
    _, val, test = time_split(trained_transformer.log).masks(replayed.ts)
    # scored as training scored them (validation then test, batches of 1024): int8 dynamic
    # quantization scales each batch, and the tiny model's scores lie within ~1e-4 of each
    # other, so another batching alone can move events across the cut
    rows = np.concatenate([np.flatnonzero(val), np.flatnonzero(test)])
    parts = [scorer.score(*replayed.replay.windows(rows[i : i + 1024]))[0]
             for i in range(0, len(rows), 1024)]  # fmt: skip
    scored = np.concatenate(parts)[: int(val.sum())]
    fraud = scored[replayed.event_types[np.flatnonzero(val)] == "transaction"]
    cut = scorer.thresholds["transaction"]
    assert (fraud >= cut["review"]).mean() <= 0.01
    assert (fraud >= cut["block"]).mean() <= 0.002


class _Interrupted(Exception):
    pass


def test_an_interrupted_finetune_resumes_where_it_stopped(
    event_log: EventLog, tmp_path: Path
) -> None:
    params = replace(TINY, pretrain_epochs=0, epochs=2, patience=5, genuine_per_epoch=2000,
                     batch_size=64, dropout=0.1)  # fmt: skip
    replayed = replay_log(event_log, window=params.window)
    y = (replayed.labels == 1).astype(np.int8)
    windows = Windows(replayed.replay, y)
    train, val, _ = time_split(event_log).masks(replayed.ts)
    validation = validation_sample(y, val, params.val_genuine, rng_for(0, "validation"))
    key = {"params": {"run": 1}, "data": "x"}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _straight_and_resumed(params, windows, train, validation, key, tmp_path)
    finally:
        torch.set_num_threads(threads)


def _straight_and_resumed(params, windows, train, validation, key, tmp_path):  # type: ignore[no-untyped-def]

    def fresh() -> FraudSeqModel:
        torch.manual_seed(params.seed)
        return FraudSeqModel(model_config(params))

    straight = fresh()
    finetune(
        straight,
        windows,
        train,
        validation,
        params,
        StageCheckpoint(tmp_path / "a", "finetune"),
        key,
    )

    checkpoint = StageCheckpoint(tmp_path / "b", "finetune")

    def stop_in_second_epoch(stage: str, done: int, total: int) -> None:
        if checkpoint.latest() is not None:
            raise _Interrupted

    with pytest.raises(_Interrupted):
        finetune(fresh(), windows, train, validation, params, checkpoint, key, stop_in_second_epoch)
    found = checkpoint.load_state(key)
    assert found is not None and found[0].epochs_done == 1
    resumed = fresh()
    state = finetune(resumed, windows, train, validation, params, checkpoint, key)
    assert state.epochs_done == 2 and len(state.history) == 2
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert straight.config.fraud_logit_offset == resumed.config.fraud_logit_offset < 0


def test_a_log_without_fraud_cannot_train(event_log: EventLog, tmp_path: Path) -> None:
    genuine = EventLog(event_log.events.with_columns(pl.lit(False).alias("is_fraud")), None)
    with pytest.raises(TrainingDataError, match="fraud label"):
        train_transformer(genuine, Registry(tmp_path), TINY)
