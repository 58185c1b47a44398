"""Shared fixtures: a synthetic event log on disk and one baseline trained on it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from models.baseline import BaselineParams, train_baseline
from models.data import EventLog, load_event_log
from models.registry import Registry
from tests.unit.models.synthetic import (
    synthetic_events,
    synthetic_feedback,
    write_simulator_layout,
)

#: small enough to train in a second or two, big enough to have frauds in every period
FAST_PARAMS = BaselineParams(forest_trees=50, max_iter=100, threads=1)


@dataclass(frozen=True)
class Trained:
    log: EventLog
    registry_root: Path
    version: str

    def registry_copy(self, dest: Path) -> Registry:
        """A private copy of the registry, safe to tamper with."""
        shutil.copytree(self.registry_root, dest)
        return Registry(dest)


@pytest.fixture(scope="session")
def simulator_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events = synthetic_events()
    return write_simulator_layout(
        tmp_path_factory.mktemp("simlog"), events, synthetic_feedback(events)
    )


@pytest.fixture(scope="session")
def event_log(simulator_dir: Path) -> EventLog:
    return load_event_log(simulator_dir)


@pytest.fixture(scope="session")
def trained(event_log: EventLog, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("registry")
    version = train_baseline(event_log, Registry(root), FAST_PARAMS)
    return Trained(event_log, root, version)
