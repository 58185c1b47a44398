"""A tiny transformer (hidden 16, one layer, K=8) trained once on the synthetic log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from models.data import EventLog
from models.registry import Registry
from models.transformer import TransformerParams, train_transformer

#: trains end to end in a few seconds on two cores
TINY = TransformerParams(
    window=8,
    hidden_size=16,
    num_layers=1,
    num_heads=2,
    intermediate_size=32,
    dropout=0.0,
    pretrain_epochs=1,
    epochs=4,
    patience=2,
    batch_size=128,
    threads=1,
)


@dataclass(frozen=True)
class TrainedTransformer:
    log: EventLog
    registry_root: Path
    version: str
    stages: list[str]

    @property
    def registry(self) -> Registry:
        return Registry(self.registry_root)


@pytest.fixture(scope="session")
def trained_transformer(
    event_log: EventLog, tmp_path_factory: pytest.TempPathFactory
) -> TrainedTransformer:
    root = tmp_path_factory.mktemp("transformer-registry")
    seen: list[str] = []
    version = train_transformer(
        event_log, Registry(root), TINY, progress=lambda stage, *_: seen.append(stage)
    )
    return TrainedTransformer(event_log, root, version, list(dict.fromkeys(seen)))
