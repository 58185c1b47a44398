"""Hyperparameters of the transformer run: defaults that train on a 1M-event log on 2 cores."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from models.data.split import DEFAULT_FRACTIONS
from models.evaluation import DEFAULT_BLOCK_RATE, DEFAULT_REVIEW_RATE
from schemas.features import DEFAULT_WINDOW


@dataclass(frozen=True, slots=True)
class TransformerParams:
    # ---- data ----
    window: int = DEFAULT_WINDOW  # K: events per window (the scored one last)
    label_delay_days: float = 7.0  # when a label has no arrival time: event time + this
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS  # train / val / test, by time
    unlabeled_as_genuine: bool = True  # events nobody labelled count as genuine
    max_events: int | None = None  # train on the first N events only (time order)
    # ---- model (FraudSeqConfig) ----
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 128
    dropout: float = 0.1  # hidden dropout (attention dropout is off: costly, little gain)
    # ---- optimisation (both stages) ----
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100  # linear warm-up, then linear decay to 10% over the stage
    grad_clip: float = 1.0
    # ---- stage 1: self-supervised pretraining (labels unused) ----
    pretrain_epochs: int = 2
    pretrain_windows: int = 100_000  # windows drawn per epoch from the train+val periods
    mask_token_rate: float = 0.15  # share of real tokens whose fields get masked
    mask_field_rate: float = 0.5  # share of a chosen token's categorical fields masked
    # ---- stage 2: fine-tuning on labels ----
    epochs: int = 8  # at most; early stopping on validation average precision
    patience: int = 2  # epochs without a better validation AP before stopping
    genuine_per_epoch: int = 40_000  # genuine windows drawn per epoch (all frauds are used)
    pos_weight: float = 2.0  # weight of a fraud in the binary cross-entropy
    next_event_weight: float = 0.5  # keeps the anomaly head trained while fine-tuning
    val_genuine: int = 30_000  # genuine validation windows scored each epoch (+ all frauds)
    # ---- export and decisions ----
    max_int8_ap_drop: float = 0.01  # serve int8 when validation AP drops at most this
    parity_tolerance: float = 1e-4  # max |ONNX fp32 - torch| on validation windows
    parity_rows: int = 5_000
    review_rate: float = DEFAULT_REVIEW_RATE  # alert budget per event type, on validation
    block_rate: float = DEFAULT_BLOCK_RATE
    # ---- run ----
    seed: int = 0
    threads: int = 2  # torch and ONNX Runtime CPU threads
    checkpoint_dir: Path | None = None  # resumable stage checkpoints (None: a temp folder)

    @property
    def label_delay(self) -> timedelta:
        return timedelta(days=self.label_delay_days)

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["fractions"] = list(self.fractions)
        body["checkpoint_dir"] = None if self.checkpoint_dir is None else str(self.checkpoint_dir)
        return body

    def stage_key(self, stage: str) -> dict[str, Any]:
        """The settings a checkpoint of ``stage`` must share with this run to be resumed."""
        body = self.to_dict()
        for name in ("checkpoint_dir", "threads", "max_int8_ap_drop", "parity_tolerance",
                     "parity_rows", "review_rate", "block_rate"):  # fmt: skip
            body.pop(name)
        if stage == "pretrain":
            for name in ("epochs", "patience", "genuine_per_epoch", "pos_weight",
                         "next_event_weight", "val_genuine"):  # fmt: skip
                body.pop(name)
        return body
