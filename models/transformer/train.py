"""The two training stages: self-supervised pretraining, then fine-tuning on labels.

Stage 1, :func:`pretrain` (labels unused): masked-field prediction (TabBERT) plus
next-event field prediction at every position of the causal encoder.

Stage 2, :func:`finetune` (warm start from stage 1): weighted binary cross-entropy of the
fraud head on the last position, plus the next-event loss on transitions into events not
known to be fraud, so the anomaly head keeps modelling *normal* behaviour. Early stopping
on validation average precision; the best epoch's weights are kept.

Both stages save a checkpoint every epoch and resume from the last complete one. Every
random draw (window sampling, masking, dropout) is seeded by (seed, stage, epoch), so a
resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file

from models.transformer.checkpoint import StageCheckpoint, StageState
from models.transformer.modeling import FraudSeqModel
from models.transformer.params import TransformerParams
from models.transformer.windows import (
    STAGE_SEEDS,
    Windows,
    batches,
    finetune_rows,
    mask_fields,
    predict,
    pretrain_rows,
    rng_for,
    weighted_ap,
)

logger = logging.getLogger(__name__)

#: progress callback: (stage, done, total)
Progress = Callable[[str, int, int], None]
_REPORT_EVERY = 10  # batches


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def make_optimizer(model: FraudSeqModel, params: TransformerParams) -> torch.optim.AdamW:
    """AdamW; no weight decay on biases, norms and embeddings."""
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, parameter in model.named_parameters():
        plain = parameter.ndim < 2 or "embeddings" in name or "LayerNorm" in name
        (no_decay if plain else decay).append(parameter)
    groups = [
        {"params": decay, "weight_decay": params.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=params.learning_rate, foreach=True)


def learning_rate(step: int, total: int, params: TransformerParams) -> float:
    """Linear warm-up over ``warmup_steps``, then linear decay to 10% at ``total``."""
    warmup = min(params.warmup_steps, max(1, total // 10))
    if step < warmup:
        return params.learning_rate * (step + 1) / warmup
    left = max(0.0, 1.0 - (step - warmup) / max(1, total - warmup))
    return params.learning_rate * (0.1 + 0.9 * left)


def seed_epoch(seed: int, stage: str, epoch: int) -> torch.Generator:
    """Seed torch (dropout) for this epoch; returns a generator for the epoch's masking."""
    torch.manual_seed(seed * 1_000_003 + STAGE_SEEDS[stage] * 1009 + epoch)
    return torch.Generator().manual_seed(seed * 7919 + STAGE_SEEDS[stage] * 131 + epoch)


@dataclass
class _Loop:
    """One stage's optimisation loop: optimizer, schedule, clipping, progress."""

    model: FraudSeqModel
    optimizer: torch.optim.AdamW
    params: TransformerParams
    total_steps: int
    stage: str
    report: Progress

    def step(self, loss: torch.Tensor, state: StageState) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(state.step, self.total_steps, self.params)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.params.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.params.grad_clip)
        self.optimizer.step()
        state.step += 1
        if state.step % _REPORT_EVERY == 0 or state.step == self.total_steps:
            self.report(self.stage, state.step, self.total_steps)


def _resume(
    checkpoint: StageCheckpoint,
    key: dict[str, Any],
    model: FraudSeqModel,
    optimizer: torch.optim.Optimizer,
) -> StageState:
    found = checkpoint.load_state(key)
    if found is None:
        return StageState(stage=checkpoint.stage, key=key)
    state, path = found
    checkpoint.restore(model, optimizer, path)
    logger.info(
        "resuming stage=%s epochs_done=%d step=%d finished=%s",
        checkpoint.stage,
        state.epochs_done,
        state.step,
        state.finished,
    )
    return state


def pretrain(
    model: FraudSeqModel,
    windows: Windows,
    period: np.ndarray,
    params: TransformerParams,
    checkpoint: StageCheckpoint,
    key: dict[str, Any],
    progress: Progress | None = None,
) -> StageState:
    """Stage 1 on the events of ``period`` (a boolean row mask); labels are not read."""
    report = progress or _no_progress
    optimizer = make_optimizer(model, params)
    state = _resume(checkpoint, key, model, optimizer)
    pool = int((period & (windows.replay.history[:, -2] >= 0)).sum())
    per_epoch = math.ceil(min(pool, params.pretrain_windows) / params.batch_size)
    loop = _Loop(model, optimizer, params, per_epoch * params.pretrain_epochs, "pretrain", report)
    report("pretrain", state.step, loop.total_steps)
    mask_codes = torch.tensor(model.config.mask_codes, dtype=torch.long)
    model.train()
    for epoch in range(state.epochs_done, params.pretrain_epochs):
        started = time.perf_counter()
        generator = seed_epoch(params.seed, "pretrain", epoch)
        rows = pretrain_rows(
            windows.replay, period, params.pretrain_windows, rng_for(params.seed, "pretrain", epoch)
        )
        total = 0.0
        for part in batches(rows, params.batch_size):
            cat, num, mask = windows.batch(part)
            corrupted, num, targets = mask_fields(
                cat,
                num,
                mask,
                mask_codes,
                params.mask_token_rate,
                params.mask_field_rate,
                generator,
            )
            out = model(corrupted, num, mask, masked_field_targets=targets)
            assert out.loss is not None
            loop.step(out.loss, state)
            total += float(out.loss.detach()) * len(part)
        state.epochs_done = epoch + 1
        state.history.append({"epoch": epoch + 1, "loss": total / max(1, len(rows))})
        checkpoint.save(model, optimizer, state)
        logger.info(
            "pretrain epoch=%d/%d windows=%d loss=%.4f seconds=%.1f",
            epoch + 1,
            params.pretrain_epochs,
            len(rows),
            state.history[-1]["loss"],
            time.perf_counter() - started,
        )
    state.finished = True
    report("pretrain", loop.total_steps, loop.total_steps)
    return state


def logit_offset(genuine_rate: float, pos_weight: float) -> float:
    """Log-odds shift undoing a genuine draw rate ``genuine_rate`` and a fraud weight."""
    return math.log(max(genuine_rate, 1e-12)) - math.log(pos_weight)


def finetune(
    model: FraudSeqModel,
    windows: Windows,
    train: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray],
    params: TransformerParams,
    checkpoint: StageCheckpoint,
    key: dict[str, Any],
    progress: Progress | None = None,
) -> StageState:
    """Stage 2 on the labelled events of ``train``; early stopping on the validation
    (rows, weights) average precision. Leaves the best epoch's weights in ``model``."""
    report = progress or _no_progress
    optimizer = make_optimizer(model, params)
    state = _resume(checkpoint, key, model, optimizer)
    labels = windows.labels
    n_fraud = int((train & (labels == 1)).sum())
    n_genuine = int((train & (labels == 0)).sum())
    rate = min(1.0, params.genuine_per_epoch / max(1, n_genuine))
    model.config.fraud_logit_offset = logit_offset(rate, params.pos_weight)
    per_epoch = math.ceil((n_fraud + min(n_genuine, params.genuine_per_epoch)) / params.batch_size)
    loop = _Loop(model, optimizer, params, per_epoch * params.epochs, "finetune", report)
    report("finetune", state.step, loop.total_steps)
    val_rows, val_weights = validation
    val_y = labels[val_rows]
    model.train()
    for epoch in range(state.epochs_done, params.epochs):
        if state.finished:
            break
        started = time.perf_counter()
        seed_epoch(params.seed, "finetune", epoch)
        rows, _ = finetune_rows(
            labels, train, params.genuine_per_epoch, rng_for(params.seed, "finetune", epoch)
        )
        total = 0.0
        for part in batches(rows, params.batch_size):
            cat, num, mask = windows.batch(part)
            known_fraud = windows.window_labels(part)[:, 1:] != 0
            out = model(
                cat,
                num,
                mask,
                labels=torch.from_numpy(labels[part].astype(np.float32)),
                transitions=(mask[:, 1:] != 0) & ~known_fraud,
                pos_weight=params.pos_weight,
                next_event_weight=params.next_event_weight,
            )
            assert out.loss is not None
            loop.step(out.loss, state)
            total += float(out.loss.detach()) * len(part)
        fraud, _ = predict(model, windows, val_rows)
        ap = weighted_ap(val_y, fraud, val_weights)
        state.epochs_done = epoch + 1
        state.history.append({"epoch": epoch + 1, "loss": total / max(1, len(rows)), "val_ap": ap})
        if state.best_metric is None or (not math.isnan(ap) and ap > state.best_metric):
            state.best_metric, state.best_epoch, state.bad_epochs = ap, epoch + 1, 0
            checkpoint.save_best(model)
        else:
            state.bad_epochs += 1
            state.finished = state.bad_epochs >= params.patience
        checkpoint.save(model, optimizer, state)
        logger.info(
            "finetune epoch=%d/%d windows=%d loss=%.4f val_ap=%.4f best_epoch=%s seconds=%.1f",
            epoch + 1,
            params.epochs,
            len(rows),
            state.history[-1]["loss"],
            ap,
            state.best_epoch,
            time.perf_counter() - started,
        )
    state.finished = True
    if checkpoint.best_dir.is_dir():
        model.load_state_dict(load_file(str(checkpoint.best_dir / "model.safetensors")))
    model.eval()
    report("finetune", loop.total_steps, loop.total_steps)
    return state
