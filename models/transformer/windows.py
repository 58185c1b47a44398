"""Training windows, gathered on the fly from a replayed log, and how they are sampled.

A replay keeps one token per event plus each event's history indices, so a batch of
windows is built when needed (``Replay.windows``) instead of materialising N x K x F.

Sampling (every draw is seeded by (seed, stage, epoch), so a resumed run draws the same):

- pretraining: ``pretrain_windows`` windows per epoch, uniformly from the events of the
  train and validation periods that have at least one earlier event (labels unused);
- fine-tuning: every fraud of the training period plus a fresh draw of
  ``genuine_per_epoch`` genuine events each epoch (the imbalance is handled by that
  sub-sampling and ``pos_weight``; ``FraudSeqConfig.fraud_logit_offset`` undoes the odds
  shift both cause, so the served probability stays close to calibrated);
- validation (early stopping): every validation fraud plus a fixed draw of ``val_genuine``
  genuine events, each genuine weighted by the inverse of its draw rate, so the average
  precision estimates the one on the whole validation period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import average_precision_score

from models.features import Replay
from models.transformer.modeling import IGNORE, FraudSeqModel

STAGE_SEEDS = {"pretrain": 1, "finetune": 2, "validation": 3}


def rng_for(seed: int, stage: str, epoch: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, STAGE_SEEDS[stage], epoch])


@dataclass(frozen=True, slots=True)
class Windows:
    """The replayed tokens plus a 0/1 label per event (unknown already resolved)."""

    replay: Replay
    labels: np.ndarray  # int8 0/1 per event

    def batch(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cat, num, mask = self.replay.windows(rows)
        return torch.from_numpy(cat), torch.from_numpy(num), torch.from_numpy(mask)

    def window_labels(self, rows: np.ndarray) -> torch.Tensor:
        """``[B, K]`` labels of every event in the windows (0 on padding)."""
        idx = self.replay.history[rows]
        return torch.from_numpy(np.where(idx >= 0, self.labels[np.maximum(idx, 0)], 0))


def batches(rows: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def pretrain_rows(
    replay: Replay, period: np.ndarray, count: int, rng: np.random.Generator
) -> np.ndarray:
    """Up to ``count`` events of ``period`` with some history, shuffled."""
    with_history = period & (replay.history[:, -2] >= 0)
    pool = np.flatnonzero(with_history)
    if len(pool) > count:
        pool = rng.choice(pool, size=count, replace=False)
    return rng.permutation(pool)


def finetune_rows(
    labels: np.ndarray, train: np.ndarray, genuine: int, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """All training frauds + ``genuine`` drawn genuine events, shuffled; and the draw rate."""
    frauds = np.flatnonzero(train & (labels == 1))
    pool = np.flatnonzero(train & (labels == 0))
    rate = 1.0
    if len(pool) > genuine:
        rate = genuine / len(pool)
        pool = rng.choice(pool, size=genuine, replace=False)
    return rng.permutation(np.concatenate([frauds, pool])), rate


def validation_sample(
    labels: np.ndarray, val: np.ndarray, genuine: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, sample weights): every validation fraud, a draw of genuine ones re-weighted."""
    frauds = np.flatnonzero(val & (labels == 1))
    pool = np.flatnonzero(val & (labels == 0))
    weight = 1.0
    if len(pool) > genuine:
        weight = len(pool) / genuine
        pool = np.sort(rng.choice(pool, size=genuine, replace=False))
    rows = np.concatenate([frauds, pool])
    weights = np.concatenate([np.ones(len(frauds)), np.full(len(pool), weight)])
    return rows, weights


def mask_fields(
    cat: torch.Tensor,
    num: torch.Tensor,
    mask: torch.Tensor,
    mask_codes: torch.Tensor,
    token_rate: float,
    field_rate: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """TabBERT-style corruption: (cat with [MASK] codes, num, targets).

    ``token_rate`` of the real tokens are chosen; in each, ``field_rate`` of the categorical
    fields (at least one) become their [MASK] code and must be predicted, and the token's
    continuous values are zeroed (several of them restate a categorical field).
    ``targets`` holds the original code where masked and ``IGNORE`` elsewhere.
    """
    b, k, f = cat.shape
    chosen = (torch.rand(b, k, generator=generator) < token_rate) & (mask != 0)
    fields = torch.rand(b, k, f, generator=generator) < field_rate
    forced = torch.randint(0, f, (b, k), generator=generator)
    fields.scatter_(-1, forced.unsqueeze(-1), True)
    masked = fields & chosen.unsqueeze(-1)
    targets = torch.where(masked, cat, torch.full_like(cat, IGNORE))
    corrupted = torch.where(masked, mask_codes.expand_as(cat), cat)
    num = num * (~chosen).unsqueeze(-1).to(num.dtype)
    return corrupted, num, targets


@torch.no_grad()
def predict(
    model: FraudSeqModel, windows: Windows, rows: np.ndarray, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Served (fraud probability, anomaly score) of ``rows`` from the torch model."""
    was_training = model.training
    model.eval()
    fraud, anomaly = [], []
    for part in batches(rows, batch_size):
        f, a = model.serve(*windows.batch(part))
        fraud.append(f.numpy())
        anomaly.append(a.numpy())
    model.train(was_training)
    if not fraud:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    return np.concatenate(fraud), np.concatenate(anomaly)


def weighted_ap(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> float:
    if y.min() == y.max():
        return float("nan")
    return float(average_precision_score(y, score, sample_weight=weights))
