"""Resumable stage checkpoints: weights and optimizer state as safetensors, progress as JSON.

Layout of one stage (``pretrain`` or ``finetune``) under the checkpoint folder::

    <dir>/<stage>/
      LATEST                    # one line: the last complete epoch folder
      epoch-0003/
        config.json             # save_pretrained (FraudSeqConfig)
        model.safetensors       # save_pretrained
        optimizer.safetensors   # AdamW moments and steps
        trainer_state.json      # epochs done, step, best metric, the run's settings key
      best/                     # fine-tuning: the weights of the best validation epoch

An epoch folder is written under a temporary name and renamed into place, and ``LATEST``
is replaced atomically, so an interrupted run resumes from its last complete epoch.
No pickle anywhere: tensors go to safetensors, everything else to JSON.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from models.transformer.exceptions import CheckpointError
from models.transformer.modeling import FraudSeqModel

logger = logging.getLogger(__name__)

LATEST_FILE = "LATEST"
STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.safetensors"
OPTIMIZER_GROUPS_FILE = "optimizer_groups.json"
BEST_DIR = "best"


@dataclass
class StageState:
    """Where a stage stands; ``key`` identifies the run (settings + training-data hash)."""

    stage: str
    key: dict[str, Any]
    epochs_done: int = 0
    step: int = 0
    best_metric: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    finished: bool = False
    history: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> StageState:
        return cls(**body)


def optimizer_to_safetensors(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    body = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for index, state in body["state"].items():
        for name, value in state.items():
            tensor = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"state.{index}.{name}"] = tensor.detach().contiguous()
    save_file(tensors, str(folder / OPTIMIZER_FILE))
    (folder / OPTIMIZER_GROUPS_FILE).write_text(
        json.dumps(body["param_groups"], default=list), encoding="utf-8"
    )


def optimizer_from_safetensors(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in load_file(str(folder / OPTIMIZER_FILE)).items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = tensor
    groups = json.loads((folder / OPTIMIZER_GROUPS_FILE).read_text(encoding="utf-8"))
    for group in groups:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _differences(saved: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))


class StageCheckpoint:
    """The checkpoints of one training stage in ``root/<stage>``."""

    def __init__(self, root: Path, stage: str) -> None:
        self.folder = Path(root) / stage
        self.stage = stage

    @property
    def best_dir(self) -> Path:
        return self.folder / BEST_DIR

    def latest(self) -> Path | None:
        try:
            name = (self.folder / LATEST_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        path = self.folder / name
        return path if (path / STATE_FILE).is_file() else None

    def load_state(self, key: dict[str, Any]) -> tuple[StageState, Path] | None:
        """The last complete epoch's state and folder, or None; refuses another run's."""
        path = self.latest()
        if path is None:
            return None
        state = StageState.from_dict(json.loads((path / STATE_FILE).read_text(encoding="utf-8")))
        if state.key != key:
            changed = ", ".join(_differences(state.key, key))
            raise CheckpointError(
                f"{self.folder} holds a {self.stage} run with other settings or data "
                f"(differs in: {changed}); pass another --checkpoint-dir or delete that folder"
            )
        return state, path

    def restore(self, model: FraudSeqModel, optimizer: torch.optim.Optimizer, path: Path) -> None:
        """Load the weights and optimizer state saved in epoch folder ``path``."""
        try:
            model.load_state_dict(load_file(str(path / "model.safetensors")))
            optimizer_from_safetensors(optimizer, path)
        except (RuntimeError, ValueError, KeyError, OSError) as err:
            raise CheckpointError(
                f"{path} cannot be restored into this model ({err}); delete the checkpoint folder"
            ) from err
        logger.info("checkpoint restored stage=%s path=%s", self.stage, path)

    def save(
        self, model: FraudSeqModel, optimizer: torch.optim.Optimizer, state: StageState
    ) -> Path:
        """Write the epoch folder, point LATEST at it, drop older epoch folders."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{state.epochs_done:04d}"
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=self.folder))
        try:
            model.save_pretrained(staging)
            optimizer_to_safetensors(optimizer, staging)
            (staging / STATE_FILE).write_text(json.dumps(asdict(state), indent=2), "utf-8")
            final = self.folder / name
            if final.exists():
                shutil.rmtree(final)
            staging.rename(final)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        self._point_latest(name)
        for old in self.folder.glob("epoch-*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)
        logger.info(
            "checkpoint saved stage=%s epoch=%d path=%s", self.stage, state.epochs_done, final
        )
        return final

    def save_best(self, model: FraudSeqModel) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".best-", dir=self.folder))
        model.save_pretrained(staging)
        old = self.folder / ".best-old"
        if self.best_dir.exists():
            self.best_dir.rename(old)
        staging.rename(self.best_dir)
        shutil.rmtree(old, ignore_errors=True)

    def _point_latest(self, name: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".latest-", dir=self.folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(name + "\n")
        os.replace(tmp, self.folder / LATEST_FILE)
