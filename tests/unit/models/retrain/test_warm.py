"""The challenger's warm start: champion's settings, weighted false positives, no promotion."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.retrain import WARM_STARTS, RetrainConfig, RetrainError, train_challenger
from models.retrain.data import RetrainData
from tests.unit.models.conftest import Trained
from tests.unit.models.retrain.conftest import FAST


def test_baseline_challenger_is_registered_with_weights_and_not_promoted(
    trained: Trained, tmp_path: Path
) -> None:
    registry = trained.registry_copy(tmp_path / "registry")
    champion = registry.manifest(trained.version)
    genuine = trained.log.events.filter(~trained.log.labels.fill_null(False))
    cleared = genuine.get_column("event_id").head(50).to_list()
    data = RetrainData(
        train=trained.log,
        recent=trained.log,
        recent_start=0.0,
        weights=dict.fromkeys(cleared, 5.0),
        info={},
    )
    version = train_challenger(data, registry, champion, RetrainConfig(baseline=FAST))
    manifest = registry.manifest(version)
    assert registry.current() == trained.version
    assert manifest.parent_version == trained.version
    assert manifest.window == champion.window
    assert manifest.params["fractions"] == champion.params["fractions"]
    assert manifest.params["weighted_events"] == 50
    assert manifest.sha256 != champion.sha256  # the weights changed the fit


def test_unknown_kind_says_how_to_train_it(
    trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(WARM_STARTS, "transformer")
    registry = trained.registry_copy(tmp_path / "registry")
    champion = registry.manifest(trained.version).model_copy(update={"kind": "transformer"})
    data = RetrainData(trained.log, trained.log, 0.0, {}, {})
    with pytest.raises(RetrainError, match="fraudstream train"):
        train_challenger(data, registry, champion, RetrainConfig())
