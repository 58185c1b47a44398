"""Window sampling, field masking and checkpoint files (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.transformer import CheckpointError, FraudSeqConfig, FraudSeqModel, StageCheckpoint
from models.transformer.checkpoint import (
    StageState,
    optimizer_from_safetensors,
    optimizer_to_safetensors,
)
from models.transformer.modeling import IGNORE
from models.transformer.params import TransformerParams
from models.transformer.train import learning_rate, logit_offset, make_optimizer
from models.transformer.windows import finetune_rows, mask_fields, rng_for, validation_sample


def test_finetune_rows_keep_every_fraud_and_draw_genuine() -> None:
    labels = np.array([0] * 1000 + [1] * 10, dtype=np.int8)
    train = np.ones(len(labels), bool)
    train[-2:] = False  # two frauds outside the training period
    rows, rate = finetune_rows(labels, train, 100, rng_for(0, "finetune", 0))
    assert len(rows) == 108 and len(set(rows)) == 108
    assert sorted(rows[labels[rows] == 1]) == list(range(1000, 1008))
    assert rate == pytest.approx(0.1)
    again, _ = finetune_rows(labels, train, 100, rng_for(0, "finetune", 0))
    other, _ = finetune_rows(labels, train, 100, rng_for(0, "finetune", 1))
    assert np.array_equal(rows, again) and not np.array_equal(np.sort(rows), np.sort(other))


def test_validation_sample_reweights_the_drawn_genuine() -> None:
    labels = np.array([0] * 900 + [1] * 5, dtype=np.int8)
    rows, weights = validation_sample(
        labels, np.ones(len(labels), bool), 300, rng_for(0, "validation")
    )
    assert (labels[rows] == 1).sum() == 5
    assert weights[labels[rows] == 1].tolist() == [1.0] * 5
    assert weights[labels[rows] == 0].sum() == pytest.approx(900)


def test_mask_fields_hides_chosen_fields_of_real_tokens_only() -> None:
    cards = [4, 5, 32]
    generator = torch.Generator().manual_seed(0)
    cat = torch.randint(1, 4, (64, 8, 3))
    num = torch.ones(64, 8, 2)
    mask = torch.ones(64, 8, dtype=torch.long)
    mask[:, :3] = 0
    codes = torch.tensor(cards)
    corrupted, num_out, targets = mask_fields(cat, num, mask, codes, 0.3, 0.5, generator)
    hidden = targets != IGNORE
    assert hidden.any() and not hidden[:, :3].any()  # padding never masked
    assert torch.equal(targets[hidden], cat[hidden])
    assert torch.equal(corrupted[hidden], codes.expand_as(cat)[hidden])
    assert torch.equal(corrupted[~hidden], cat[~hidden])
    chosen = hidden.any(-1)
    assert (num_out[chosen] == 0).all() and (num_out[~chosen] == 1).all()
    assert 0.2 < chosen[:, 3:].float().mean() < 0.4


def test_learning_rate_warms_up_then_decays() -> None:
    params = TransformerParams(learning_rate=1e-3, warmup_steps=10)
    rates = [learning_rate(step, 200, params) for step in range(200)]
    assert rates[0] < rates[9] == pytest.approx(1e-3)
    assert rates[-1] == pytest.approx(1e-4, rel=0.05) and rates[50] > rates[150]


def test_logit_offset_undoes_the_sampling() -> None:
    """Training sees genuine 10x rarer and frauds 2x heavier: odds x20 to remove."""
    assert logit_offset(0.1, 2.0) == pytest.approx(-np.log(20.0))
    assert logit_offset(1.0, 1.0) == 0.0


def _tiny() -> FraudSeqModel:
    torch.manual_seed(0)
    return FraudSeqModel(
        FraudSeqConfig(window=4, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=16)
    )  # fmt: skip


def _one_step(model: FraudSeqModel, optimizer: torch.optim.Optimizer) -> None:
    cat = torch.ones(3, 4, len(model.config.categorical_names), dtype=torch.long)
    num = torch.zeros(3, 4, model.config.n_continuous)
    out = model(cat, num, torch.ones(3, 4, dtype=torch.long), labels=torch.tensor([0, 1, 0]))
    optimizer.zero_grad()
    assert out.loss is not None
    out.loss.backward()
    optimizer.step()


def test_optimizer_state_round_trips_through_safetensors(tmp_path: Path) -> None:
    model = _tiny()
    optimizer = make_optimizer(model, TransformerParams())
    _one_step(model, optimizer)
    optimizer_to_safetensors(optimizer, tmp_path)
    assert not list(tmp_path.glob("*.pt"))
    fresh = make_optimizer(model, TransformerParams())
    optimizer_from_safetensors(fresh, tmp_path)
    saved, loaded = optimizer.state_dict(), fresh.state_dict()
    assert saved["param_groups"] == loaded["param_groups"]
    for index, state in saved["state"].items():
        for name, value in state.items():
            assert torch.equal(value, loaded["state"][index][name])


def test_checkpoint_resumes_the_last_epoch_and_refuses_another_run(tmp_path: Path) -> None:
    model = _tiny()
    optimizer = make_optimizer(model, TransformerParams())
    checkpoint = StageCheckpoint(tmp_path, "pretrain")
    key = {"params": {"seed": 0}, "data": "abc"}
    assert checkpoint.load_state(key) is None
    for epoch in (1, 2):
        _one_step(model, optimizer)
        checkpoint.save(
            model, optimizer, StageState("pretrain", key, epochs_done=epoch, step=epoch)
        )
    assert sorted(p.name for p in (tmp_path / "pretrain").iterdir()) == ["LATEST", "epoch-0002"]
    found = checkpoint.load_state(key)
    assert found is not None
    state, path = found
    assert (state.epochs_done, state.step) == (2, 2)
    assert json.loads((path / "config.json").read_text())["model_type"] == "fraudstream-seq"
    restored = _tiny()
    checkpoint.restore(restored, make_optimizer(restored, TransformerParams()), path)
    for a, b in zip(model.parameters(), restored.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(CheckpointError, match="differs in: data"):
        checkpoint.load_state({"params": {"seed": 0}, "data": "other"})
