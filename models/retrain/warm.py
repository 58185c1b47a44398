"""Train the challenger from the champion, by model kind.

A baseline (gradient boosting + IsolationForest) has no weights worth keeping between days:
its warm start is a refit on the new labels plus a replay sample of older data, with the
champion's window and split fractions, reviewed false positives up-weighted. A transformer
starts from the champion's saved weights (same fields, window and feature-set hash) and is
fine-tuned a few epochs at a low learning rate on the same data and weights, without
pretraining (``models.transformer.warm``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from models.baseline import BaselineParams, train_baseline
from models.manifest import Manifest
from models.registry import Registry
from models.retrain.config import RetrainConfig
from models.retrain.data import RetrainData
from models.retrain.exceptions import RetrainError

#: (data, registry, champion manifest, config) -> registered, not promoted, version
WarmStart = Callable[[RetrainData, Registry, Manifest, RetrainConfig], str]


def _baseline_params(champion: Manifest, config: RetrainConfig) -> BaselineParams:
    """The configured hyperparameters with the champion's window and split fractions."""
    fields = {f.name for f in dataclasses.fields(BaselineParams)}
    kept: dict[str, Any] = {"window": champion.window}
    fractions = champion.params.get("fractions")
    if fractions is not None and "fractions" in fields:
        kept["fractions"] = tuple(float(f) for f in fractions)
    return dataclasses.replace(config.baseline, **kept)


def warm_start_baseline(
    data: RetrainData, registry: Registry, champion: Manifest, config: RetrainConfig
) -> str:
    return train_baseline(
        data.train,
        registry,
        _baseline_params(champion, config),
        parent_version=champion.version,
        promote=False,
        event_weights=data.weights,
    )


def warm_start_transformer(
    data: RetrainData, registry: Registry, champion: Manifest, config: RetrainConfig
) -> str:
    # imported here: torch (the train extra) is needed only when a transformer is retrained
    from models.transformer.warm import champion_params
    from models.transformer.warm import warm_start_transformer as fine_tune

    return fine_tune(
        data.train,
        registry,
        champion,
        champion_params(champion, **config.transformer.changes()),
        event_weights=data.weights,
        promote=False,
    )


WARM_STARTS: dict[str, WarmStart] = {
    "baseline": warm_start_baseline,
    "transformer": warm_start_transformer,
}


def train_challenger(
    data: RetrainData, registry: Registry, champion: Manifest, config: RetrainConfig
) -> str:
    """Register a challenger of the champion's kind (never promoted here)."""
    trainer = WARM_STARTS.get(champion.kind)
    if trainer is None:
        raise RetrainError(
            f"retrain cannot warm-start a {champion.kind!r} model yet (known: "
            f"{', '.join(sorted(WARM_STARTS))}); train it with `fraudstream train` instead"
        )
    return trainer(data, registry, champion, config)
