"""A transformer challenger warm-started from the champion's weights, and a retrain with it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch
from safetensors.torch import load_file

from models.data import EventLog, load_event_log, replay_log
from models.registry import Registry
from models.retrain import (
    Outcome,
    PromotionRule,
    RetrainConfig,
    TransformerWarmStart,
    retrain,
    train_challenger,
)
from models.retrain.data import RetrainData
from models.transformer import FraudSeqConfig, FraudSeqModel, TransformerError, TransformerParams
from models.transformer.build import FP32_FILE, HF_DIR
from models.transformer.export import onnx_scores, session
from models.transformer.warm import _epoch_rows, champion_params, load_champion, loss_weights
from models.transformer.windows import Windows
from tests.unit.models.retrain.conftest import FAST, Champion

#: a one-layer model that trains on the 20k-event window in seconds
TINY = TransformerParams(
    window=8,
    hidden_size=16,
    num_layers=1,
    num_heads=2,
    intermediate_size=32,
    dropout=0.0,
    pretrain_epochs=1,
    pretrain_windows=8_000,
    epochs=2,
    patience=1,
    batch_size=128,
    genuine_per_epoch=4_000,
    val_genuine=2_000,
    parity_rows=500,
    threads=1,
)
# the tiny champion's own draw per epoch, not the default 15,000 genuine windows
ONE_EPOCH = TransformerWarmStart(epochs=1, threads=1, genuine_per_epoch=None)


@pytest.fixture(scope="module")
def transformer_champion(
    reference_window: Path, tmp_path_factory: pytest.TempPathFactory
) -> Champion:
    from models.transformer import train_transformer

    root = tmp_path_factory.mktemp("transformer-champion") / "registry"
    version = train_transformer(load_event_log(reference_window), Registry(root), TINY)
    return Champion(reference_window, root, version)


@pytest.fixture(scope="module")
def new_log(new_batch: Path) -> EventLog:
    return load_event_log(new_batch)


def _data(log: EventLog, weights: dict[str, float] | None = None) -> RetrainData:
    return RetrainData(train=log, recent=log, recent_start=0.0, weights=weights or {}, info={})


def _fp32_scores(registry: Registry, version: str, log: EventLog) -> tuple[np.ndarray, ...]:
    manifest = registry.manifest(version)
    replayed = replay_log(log, window=manifest.window)
    windows = Windows(replayed.replay, np.zeros(len(replayed), np.int8))
    rows = np.arange(0, len(replayed), 7)
    return onnx_scores(session(registry.path(version) / FP32_FILE), windows, rows)


def _weights(registry: Registry, version: str) -> dict[str, torch.Tensor]:
    return load_file(str(registry.path(version) / HF_DIR / "model.safetensors"))


def _distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return float(sum(torch.sum((a[k] - b[k]) ** 2) for k in a)) ** 0.5


def test_without_steps_the_challenger_is_the_champion(
    transformer_champion: Champion, new_log: EventLog, tmp_path: Path
) -> None:
    registry = transformer_champion.registry_copy(tmp_path / "registry")
    champion = registry.manifest(transformer_champion.version)
    # another genuine draw rate than the champion's: the logit offset must move
    config = RetrainConfig(transformer=replace(ONE_EPOCH, epochs=0, genuine_per_epoch=500))

    version = train_challenger(_data(new_log), registry, champion, config)

    manifest = registry.manifest(version)
    assert version != champion.version
    assert registry.current() == champion.version  # registered, not promoted
    assert manifest.kind == "transformer"
    assert manifest.parent_version == champion.version
    assert manifest.feature_set_hash == champion.feature_set_hash
    assert manifest.window == champion.window
    assert manifest.params["pretrain_epochs"] == 0
    assert manifest.params["warm_start"]["champion"] == champion.version
    saved = FraudSeqConfig.from_pretrained(registry.path(version) / HF_DIR)
    kept = FraudSeqConfig.from_pretrained(registry.path(champion.version) / HF_DIR)
    assert saved.categorical_names == kept.categorical_names
    assert saved.categorical_cardinalities == kept.categorical_cardinalities
    assert saved.continuous_names == kept.continuous_names
    assert saved.feature_set_hash == kept.feature_set_hash
    assert abs(saved.fraud_logit_offset - kept.fraud_logit_offset) > 1.0
    # the fraud-head bias absorbed the new draw rate; every served score is unchanged
    ours = _fp32_scores(registry, version, new_log)
    theirs = _fp32_scores(registry, champion.version, new_log)
    np.testing.assert_allclose(ours[0], theirs[0], atol=2e-5)
    np.testing.assert_allclose(ours[1], theirs[1], atol=2e-4)


def test_fine_tuning_starts_from_the_champion_and_weighs_false_positives(
    transformer_champion: Champion, new_log: EventLog, tmp_path: Path
) -> None:
    registry = transformer_champion.registry_copy(tmp_path / "registry")
    champion = registry.manifest(transformer_champion.version)
    config = RetrainConfig(transformer=ONE_EPOCH)
    genuine = new_log.events.filter(~new_log.labels.fill_null(False))
    cleared = genuine.get_column("event_id").head(200).to_list()  # early: training period

    plain = train_challenger(_data(new_log), registry, champion, config)
    weighted = train_challenger(
        _data(new_log, dict.fromkeys(cleared, 25.0)), registry, champion, config
    )

    start = _weights(registry, champion.version)
    tuned = _weights(registry, plain)
    fresh = FraudSeqModel(FraudSeqConfig.from_pretrained(registry.path(plain) / HF_DIR))
    moved = _distance(tuned, start)
    assert 0.0 < moved < 0.25 * _distance(dict(fresh.state_dict()), start)
    history = registry.manifest(plain).params["finetune_history"]
    assert [h["epoch"] for h in history] == [1]
    assert registry.manifest(plain).params["warm_start"]["weighted_events"] == 0
    assert registry.manifest(weighted).params["warm_start"]["weighted_events"] == 200
    assert _distance(_weights(registry, weighted), tuned) > 0.0  # the weights changed the fit
    assert registry.current() == champion.version


def test_an_up_weighted_false_positive_counts_its_weight_against_the_genuine_draw() -> None:
    # 100 genuine training events (10 reviewed false positives, weight 2), 5 frauds (one
    # replayed older fraud, weight 3), 20 validation events
    y = np.array([0] * 100 + [1] * 5 + [0] * 20, dtype=np.int8)
    train = np.arange(len(y)) < 105
    weights = np.ones(len(y), np.float32)
    weights[:10] = 2.0
    weights[100] = 3.0
    weights[110] = 2.0  # validation: never in an epoch

    scaled, kept, rate = loss_weights(y, train, weights, genuine_per_epoch=18)

    assert kept.tolist() == list(range(10))
    assert rate == pytest.approx(18 / 90)  # drawn from the 90 other genuine events
    # in every epoch at 2 x 0.2: as much, in expectation, as a weight-2 event drawn at 0.2
    assert scaled[:10] == pytest.approx(np.full(10, 0.4))
    assert scaled[10:100].tolist() == [1.0] * 90
    assert scaled[100] == 3.0  # frauds are all in every epoch: their weight stands
    assert scaled[110] == 2.0
    assert weights[0] == 2.0  # the caller's weights are not changed

    _, kept_all, full = loss_weights(y, train, weights, genuine_per_epoch=1_000)
    assert full == 1.0 and len(kept_all) == 10

    # each epoch: every fraud, every kept false positive once, 18 of the other genuine events
    run = SimpleNamespace(params=SimpleNamespace(seed=3, genuine_per_epoch=18), y=y, train=train)
    draws = [_epoch_rows(run, kept, epoch) for epoch in range(2)]  # type: ignore[arg-type]
    for rows in draws:
        assert len(rows) == len(set(rows.tolist())) == 5 + 10 + 18
        assert set(range(100, 105)) | set(range(10)) <= set(rows.tolist())
        assert max(rows) < 105  # nothing from the validation slice
    assert set(draws[0].tolist()) != set(draws[1].tolist())  # a fresh draw per epoch


def test_architecture_is_the_champions(transformer_champion: Champion) -> None:
    champion = Registry(transformer_champion.registry_root).manifest(transformer_champion.version)
    params = champion_params(champion, epochs=5, learning_rate=1e-5)
    assert (params.hidden_size, params.num_layers, params.window) == (16, 1, 8)
    assert (params.epochs, params.learning_rate, params.pretrain_epochs) == (5, 1e-5, 0)
    with pytest.raises(TransformerError, match="architecture"):
        champion_params(champion, hidden_size=32)


def test_a_champion_for_other_features_is_refused(
    transformer_champion: Champion, tmp_path: Path
) -> None:
    registry = transformer_champion.registry_copy(tmp_path / "registry")
    champion = registry.manifest(transformer_champion.version)
    config_path = registry.path(champion.version) / HF_DIR / "config.json"
    body = json.loads(config_path.read_text())
    body["feature_set_hash"] = "0" * 64
    config_path.write_text(json.dumps(body))
    with pytest.raises(TransformerError, match="another feature set"):
        load_champion(registry, champion)


def test_retrain_of_a_transformer_champion_leaves_a_report(
    transformer_champion: Champion, new_batch: Path, tmp_path: Path
) -> None:
    registry = transformer_champion.registry_copy(tmp_path / "registry")
    lenient = PromotionRule(max_ap_drop=1.0, fpr_sets=(), max_scenario_recall_drop=1.0)
    config = RetrainConfig(baseline=FAST, transformer=ONE_EPOCH, rule=lenient)

    result = retrain(new_batch, registry, tmp_path / "regression", tmp_path / "out", config=config)

    assert result.gate.passed
    assert result.challenger is not None
    challenger = registry.manifest(result.challenger)
    assert challenger.kind == "transformer"
    assert challenger.parent_version == transformer_champion.version
    assert "recent" in result.comparisons
    assert result.outcome is Outcome.PROMOTED  # the lenient rule passes any challenger
    assert registry.current() == result.challenger
    saved = json.loads((tmp_path / "out" / "retrain.json").read_text())
    assert saved["challenger"] == result.challenger
    assert saved["seconds"]["train"] > 0
    assert result.challenger in (tmp_path / "out" / "report.md").read_text()
