"""Two simulated windows and a champion trained on the first, built once per session."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from models.baseline import BaselineParams, train_baseline
from models.data import load_event_log
from models.registry import Registry
from tests.unit.data_quality.datasets import simulate

#: small enough for a busy laptop, big enough for frauds of every scenario in each set
EVENTS = 20_000
FAST = BaselineParams(forest_trees=50, max_iter=100, threads=1)


@dataclass(frozen=True)
class Champion:
    reference: Path  # its training data
    registry_root: Path
    version: str

    def registry_copy(self, dest: Path) -> Registry:
        shutil.copytree(self.registry_root, dest)
        return Registry(dest)


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def reference_window(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate(tmp_path_factory.mktemp("reference"), seed=1, events=EVENTS)


@pytest.fixture(scope="session")
def new_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate(tmp_path_factory.mktemp("batch"), seed=2, events=EVENTS)


@pytest.fixture(scope="session")
def champion(reference_window: Path, tmp_path_factory: pytest.TempPathFactory) -> Champion:
    root = tmp_path_factory.mktemp("champion") / "registry"
    version = train_baseline(load_event_log(reference_window), Registry(root), FAST)
    return Champion(reference_window, root, version)
