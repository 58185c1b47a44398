"""FraudSeqModel: causal (no future leakage), one pass gives both scores, HF round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.transformer import FraudSeqConfig, FraudSeqModel
from models.transformer.modeling import IGNORE, causal_attention_bias
from schemas.features import CATEGORICAL, CONTINUOUS, FeatureSpec

K = 8


def tiny_config(**overrides: object) -> FraudSeqConfig:
    options: dict[str, object] = {
        "window": K,
        "hidden_size": 16,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 32,
    }
    options.update(overrides)
    return FraudSeqConfig(**options)


def random_windows(batch: int = 6, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random valid windows; the first half of the rows are left padded."""
    rng = np.random.default_rng(seed)
    cards = np.array(list(CATEGORICAL.values()))
    cat = (rng.random((batch, K, len(cards))) * cards).astype(np.int64)
    num = rng.normal(size=(batch, K, len(CONTINUOUS))).astype(np.float32)
    mask = np.ones((batch, K), dtype=np.int64)
    mask[: batch // 2, : K // 2] = 0
    cat *= mask[..., None]
    num *= mask[..., None]
    return torch.from_numpy(cat), torch.from_numpy(num), torch.from_numpy(mask)


@pytest.fixture
def model() -> FraudSeqModel:
    torch.manual_seed(0)
    return FraudSeqModel(tiny_config()).eval()


def test_config_carries_the_feature_schema() -> None:
    config = FraudSeqConfig()
    assert config.model_type == "fraudstream-seq"
    assert config.categorical_names == list(CATEGORICAL)
    assert config.categorical_cardinalities == list(CATEGORICAL.values())
    assert config.continuous_names == list(CONTINUOUS)
    assert config.window == 32 and config.hidden_size == 64 and config.num_hidden_layers == 2
    assert config.matches(FeatureSpec())
    assert not FraudSeqConfig(categorical_cardinalities=[2] * len(CATEGORICAL)).matches(
        FeatureSpec()
    )
    with pytest.raises(ValueError, match="multiple"):
        FraudSeqConfig(hidden_size=30, num_attention_heads=4)


def test_no_future_leakage(model: FraudSeqModel) -> None:
    """Changing the scored event changes nothing at K-2: the anomaly score's context is
    the history before the event; the fraud logit does see the event."""
    cat, num, mask = random_windows()
    changed_cat, changed_num = cat.clone(), num.clone()
    changed_cat[:, -1] = (changed_cat[:, -1] + 1) % torch.tensor(list(CATEGORICAL.values()))
    changed_num[:, -1] += 3.0
    with torch.no_grad():
        before = model.encode(cat, num, mask)
        after = model.encode(changed_cat, changed_num, mask)
        out_before = model(cat, num, mask)
        out_after = model(changed_cat, changed_num, mask)
    assert torch.equal(before[:, :-1], after[:, :-1])
    assert not torch.allclose(before[:, -1], after[:, -1])
    assert not torch.allclose(out_before.fraud_logits, out_after.fraud_logits)
    # same context, other event: the surprise changes only through the scored fields
    assert not torch.allclose(out_before.anomaly_score, out_after.anomaly_score)


def test_every_position_only_sees_its_past(model: FraudSeqModel) -> None:
    cat, num, mask = random_windows(seed=1)
    with torch.no_grad():
        reference = model.encode(cat, num, mask)
        for t in range(K - 1):
            later_cat, later_num = cat.clone(), num.clone()
            later_cat[:, t + 1 :] = 1
            later_num[:, t + 1 :] = -2.0
            out = model.encode(later_cat, later_num, mask)
            assert torch.allclose(out[:, : t + 1], reference[:, : t + 1], atol=1e-6)


def test_causal_bias_never_leaves_a_row_empty() -> None:
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    allowed = causal_attention_bias(mask, torch.float32)[:, 0] == 0
    assert allowed.any(dim=-1).all()
    assert allowed[0].tolist() == [
        [True, False, False, False],  # padding sees itself only
        [False, True, False, False],
        [False, False, True, False],  # the first real event: itself, no padding
        [False, False, True, True],
    ]
    assert torch.equal(allowed[1], torch.ones(4, 4, dtype=torch.bool).tril())


def test_padding_content_is_ignored_by_real_positions(model: FraudSeqModel) -> None:
    cat, num, mask = random_windows()
    noisy_num = num + (1 - mask)[..., None] * 5.0  # garbage where mask == 0
    with torch.no_grad():
        clean = model.encode(cat, num, mask)
        noisy = model.encode(cat, noisy_num, mask)
    real = mask.bool()
    assert torch.allclose(clean[real], noisy[real], atol=1e-5)


def test_serving_path_equals_the_training_forward(model: FraudSeqModel) -> None:
    cat, num, mask = random_windows(batch=9, seed=2)
    with torch.no_grad():
        out = model(cat, num, mask)
        hidden = model.encode(cat, num, mask)
        tail = model.encode_tail(cat, num, mask)
        fraud, anomaly = model.serve(cat, num, mask)
    assert torch.allclose(model.embed(cat, num), model.embed_fused(cat, num), atol=1e-6)
    assert torch.allclose(tail, hidden[:, -2:], atol=1e-5)
    assert torch.allclose(fraud, model.fraud_probability(out.fraud_logits), atol=1e-6)
    assert torch.allclose(anomaly, out.anomaly_score, atol=1e-4)
    assert ((fraud > 0) & (fraud < 1)).all() and (anomaly > 0).all()


def test_anomaly_is_the_next_event_nll_of_the_scored_event(model: FraudSeqModel) -> None:
    cat, num, mask = random_windows(seed=3)
    with torch.no_grad():
        hidden = model.encode(cat, num, mask)
        nll = model.next_event_nll(hidden, cat)  # [B, K-1, Fc]
        anomaly = model.anomaly_score(hidden, cat)
    assert torch.allclose(anomaly, nll[:, -1].sum(-1), atol=1e-5)
    log_probs = model.field_log_probs(model.next_event_head(hidden[:, -2]))
    for f, card in enumerate(CATEGORICAL.values()):  # each field a distribution on its codes
        assert torch.allclose(log_probs[:, f, :card].exp().sum(-1), torch.ones(len(cat)))


def test_losses_are_finite_and_train_every_head(model: FraudSeqModel) -> None:
    model.train()
    cat, num, mask = random_windows()
    targets = torch.full_like(cat, IGNORE)
    targets[:, -1, 0] = cat[:, -1, 0]
    masked = cat.clone()
    masked[:, -1, 0] = model.config.mask_codes[0]
    out = model(masked, num, mask, labels=torch.tensor([0, 1, 0, 1, 0, 0]),
                masked_field_targets=targets)  # fmt: skip
    assert out.loss is not None and torch.isfinite(out.loss)
    out.loss.backward()
    for name in ("field_head", "next_event_head", "fraud_classifier", "token_projection"):
        grad = getattr(model, name).weight.grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert model.field_embeddings[0].weight.grad[0].abs().sum() == 0  # padding row frozen


def test_save_and_load_round_trip(model: FraudSeqModel, tmp_path: Path) -> None:
    model.config.fraud_logit_offset = -1.5
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    assert not list(tmp_path.glob("*.bin")) and not list(tmp_path.glob("*.pt"))
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "fraudstream-seq"
    assert saved["categorical_names"] == list(CATEGORICAL)  # stored, though the default
    assert saved["feature_set_hash"] == FeatureSpec().hash()
    loaded = FraudSeqModel.from_pretrained(tmp_path).eval()
    assert loaded.config.fraud_logit_offset == -1.5
    assert loaded.config.window == K and loaded.config.hidden_size == 16
    cat, num, mask = random_windows(seed=4)
    with torch.no_grad():
        expected = model.serve(cat, num, mask)
        got = loaded.serve(cat, num, mask)
    assert torch.equal(expected[0], got[0]) and torch.equal(expected[1], got[1])
