"""Warm start: fine-tune a registered transformer (the champion) on new labels.

The challenger is the champion's Hugging Face model (``hf/`` in its version folder, loaded
with ``from_pretrained``): same token fields, cardinalities, feature-set hash and window, so
a worker can swap it in. No pretraining: the weights already model the events. Fine-tuning
runs a few epochs at a low learning rate on the labelled events of the training period, with
a weight per event (reviewed false positives up-weighted; they are in every epoch, their
weight scaled by the genuine draw rate so that each counts as much as the baseline's refit
counts it), then the same export, parity checks, thresholds and registry entry as a fresh model.

Before the first step the fraud head's bias is moved so that the served probability is
unchanged while the raw logit matches the new genuine draw rate: with zero epochs the
challenger scores exactly as the champion does.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from models.data import EventLog
from models.manifest import Manifest
from models.registry import Registry
from models.transformer.build import (
    HF_DIR,
    _export_and_register,
    _prepare,
    _quiet_hf_progress,
    _Run,
)
from models.transformer.exceptions import TransformerError
from models.transformer.modeling import FraudSeqModel
from models.transformer.params import TransformerParams
from models.transformer.train import (
    Progress,
    learning_rate,
    logit_offset,
    make_optimizer,
    seed_epoch,
)
from models.transformer.windows import (
    batches,
    finetune_rows,
    predict,
    rng_for,
    validation_sample,
    weighted_ap,
)
from schemas.features import FeatureSpec

logger = logging.getLogger(__name__)

#: manifest params that describe the architecture: a warm start keeps the champion's
ARCHITECTURE = ("window", "hidden_size", "num_layers", "num_heads", "intermediate_size")


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def champion_params(champion: Manifest, **changes: Any) -> TransformerParams:
    """The champion's training settings (as its manifest records them) with ``changes``;
    the architecture fields cannot change and pretraining is off."""
    if champion.kind != "transformer":
        raise TransformerError(
            f"{champion.version} is a {champion.kind!r} model, not a transformer"
        )
    blocked = sorted(set(changes) & set(ARCHITECTURE))
    if blocked:
        raise TransformerError(
            f"a warm start keeps the champion's architecture; cannot change {', '.join(blocked)}"
        )
    names = {f.name for f in dataclasses.fields(TransformerParams)}
    kept: dict[str, Any] = {k: v for k, v in champion.params.items() if k in names}
    if kept.get("fractions") is not None:
        kept["fractions"] = tuple(float(f) for f in kept["fractions"])
    kept.update(checkpoint_dir=None, max_events=None, window=champion.window)
    kept.update(changes)
    kept["pretrain_epochs"] = 0
    return TransformerParams(**kept)


def load_champion(registry: Registry, champion: Manifest) -> FraudSeqModel:
    """The champion's saved weights; refuses a model built for other token fields."""
    folder = registry.path(champion.version) / str(champion.params.get("hf_dir", HF_DIR))
    if not (folder / "config.json").is_file():
        raise TransformerError(
            f"{champion.version} has no saved weights in {folder}: it cannot be fine-tuned; "
            "train a new transformer with `fraudstream train --model transformer`"
        )
    model = FraudSeqModel.from_pretrained(folder)
    spec = FeatureSpec(window=model.config.window)
    if not model.config.matches(spec) or champion.feature_set_hash != spec.hash():
        raise TransformerError(
            f"{champion.version} reads another feature set (hash "
            f"{model.config.feature_set_hash}) than this version of fraudstream builds "
            f"({spec.hash()}); train a new transformer with `fraudstream train --model transformer`"
        )
    return model


def row_weights(event_log: EventLog, weights: Mapping[str, float] | None) -> np.ndarray:
    """One weight per event of ``event_log`` (time order, as replayed), 1.0 by default."""
    ids = event_log.events.get_column("event_id").to_list()
    if not weights:
        return np.ones(len(ids), np.float32)
    return np.array([weights.get(event_id, 1.0) for event_id in ids], dtype=np.float32)


def _rebase_offset(model: FraudSeqModel, offset: float) -> None:
    """Set the served logit offset to ``offset`` without changing any served probability."""
    shift = model.config.fraud_logit_offset - offset
    with torch.no_grad():
        model.fraud_classifier.bias.add_(shift)
    model.config.fraud_logit_offset = offset


def _epoch_rows(run: _Run, kept: np.ndarray, epoch: int) -> np.ndarray:
    """All training frauds, a fresh draw of the other genuine events, and every kept
    genuine event (the up-weighted ones, in every epoch)."""
    params = run.params
    rng = rng_for(params.seed, "finetune", epoch)
    pool = run.train.copy()
    pool[kept] = False
    rows, _ = finetune_rows(run.y, pool, params.genuine_per_epoch, rng)
    return rng.permutation(np.concatenate([rows, kept]))


def loss_weights(
    y: np.ndarray, train: np.ndarray, weights: np.ndarray, genuine_per_epoch: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """(per-event loss weights, the up-weighted genuine events kept in every epoch, the
    genuine draw rate).

    The other genuine events are drawn at a rate ``r`` per epoch, so an up-weighted genuine
    event that is in every epoch weighs ``weight * r`` in the loss: over the draws it counts
    ``weight`` times as much as a drawn genuine event, as in the baseline's refit, and
    not ``weight / r`` times. Frauds are all in every epoch and keep their weight."""
    kept = np.flatnonzero(train & (y == 0) & (weights != 1.0))
    pool = int((train & (y == 0)).sum()) - len(kept)
    rate = min(1.0, genuine_per_epoch / max(1, pool))
    scaled = weights.astype(np.float32, copy=True)
    scaled[kept] *= rate
    return scaled, kept, rate


def fine_tune(
    model: FraudSeqModel, run: _Run, weights: np.ndarray, report: Progress
) -> tuple[int | None, list[dict[str, float]]]:
    """Weighted fine-tuning of ``model`` on the training period, early stopping on the
    validation average precision; leaves the best epoch's weights in ``model``.
    Returns (best epoch or None when no epoch ran, per-epoch history)."""
    params = run.params
    y = run.y
    weights, kept, rate = loss_weights(y, run.train, weights, params.genuine_per_epoch)
    _rebase_offset(model, logit_offset(rate, params.pos_weight))
    n_genuine = int((run.train & (y == 0)).sum()) - len(kept)
    per_epoch = math.ceil(
        (int((run.train & (y == 1)).sum()) + min(n_genuine, params.genuine_per_epoch)
         + len(kept)) / params.batch_size
    )  # fmt: skip
    total = per_epoch * params.epochs
    optimizer = make_optimizer(model, params)
    val_rows, val_weights = validation_sample(
        y, run.val, params.val_genuine, rng_for(params.seed, "validation")
    )
    pos_weight = torch.tensor(params.pos_weight)
    history: list[dict[str, float]] = []
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    bad, step = 0, 0
    report("finetune", 0, total)
    for epoch in range(params.epochs):
        started = time.perf_counter()
        model.train()
        seed_epoch(params.seed, "finetune", epoch)
        rows = _epoch_rows(run, kept, epoch)
        loss_sum = 0.0
        for part in batches(rows, params.batch_size):
            cat, num, mask = run.windows.batch(part)
            hidden = model.encode(cat, num, mask)
            known_fraud = run.windows.window_labels(part)[:, 1:] != 0
            loss = params.next_event_weight * model.next_event_loss(
                hidden, cat, (mask[:, 1:] != 0) & ~known_fraud
            ) + F.binary_cross_entropy_with_logits(
                model.fraud_logits(hidden),
                torch.from_numpy(y[part].astype(np.float32)),
                weight=torch.from_numpy(weights[part]),
                pos_weight=pos_weight,
            )
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, total, params)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if params.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), params.grad_clip)
            optimizer.step()
            step += 1
            loss_sum += float(loss.detach()) * len(part)
            if step % 10 == 0:
                report("finetune", step, total)
        ap = weighted_ap(y[val_rows], predict(model, run.windows, val_rows)[0], val_weights)
        history.append({"epoch": epoch + 1, "loss": loss_sum / max(1, len(rows)), "val_ap": ap})
        if best is None or (not math.isnan(ap) and ap > best[0]):
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best, bad = (ap, epoch + 1, state), 0
        else:
            bad += 1
        logger.info(
            "warm finetune epoch=%d/%d windows=%d loss=%.4f val_ap=%.4f seconds=%.1f",
            epoch + 1,
            params.epochs,
            len(rows),
            history[-1]["loss"],
            ap,
            time.perf_counter() - started,
        )
        if bad >= params.patience:
            break
    if best is not None:
        model.load_state_dict(best[2])
    model.eval()
    report("finetune", total, total)
    return (best[1] if best is not None else None), history


def warm_start_transformer(
    event_log: EventLog,
    registry: Registry,
    champion: Manifest,
    params: TransformerParams | None = None,
    *,
    event_weights: Mapping[str, float] | None = None,
    promote: bool = False,
    progress: Progress | None = None,
) -> str:
    """Fine-tune ``champion`` on ``event_log``, export, check and register the challenger
    (its parent: the champion; not promoted unless asked); returns its version.

    ``params`` defaults to the champion's own (:func:`champion_params`); ``event_weights``
    (event id -> weight, others 1.0) weights the fraud loss per event.
    """
    params = params or champion_params(champion)
    if params.pretrain_epochs:
        params = dataclasses.replace(params, pretrain_epochs=0)
    report = progress or _no_progress
    threads = torch.get_num_threads()
    torch.set_num_threads(params.threads)
    try:
        model = load_champion(registry, champion)
        if params.window != model.config.window:
            raise TransformerError(
                f"the warm start's window {params.window} differs from the champion's "
                f"{model.config.window}"
            )
        with _quiet_hf_progress(), tempfile.TemporaryDirectory(prefix="fsq-warm-") as scratch:
            run = _prepare(event_log, params, champion.version, report)
            weights = row_weights(event_log, event_weights)
            mark = time.perf_counter()
            run.best_epoch, run.history = fine_tune(model, run, weights, report)
            run.lap("finetune", mark)
            run.extra = {
                "warm_start": {
                    "champion": champion.version,
                    "champion_training_data_hash": champion.training_data_hash,
                    "weighted_events": int((weights[run.train] != 1.0).sum()),
                }
            }
            return _export_and_register(
                model, run, Path(scratch) / "build", registry, promote, report
            )
    finally:
        torch.set_num_threads(threads)
