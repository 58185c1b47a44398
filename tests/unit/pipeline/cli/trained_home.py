"""A small simulator-layout log and a FRAUDSTREAM_HOME whose registry holds a baseline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.baseline import train_baseline
from models.data import load_event_log
from models.registry import Registry
from tests.unit.models.conftest import FAST_PARAMS
from tests.unit.models.synthetic import (
    synthetic_events,
    synthetic_feedback,
    write_simulator_layout,
)


@dataclass(frozen=True)
class TrainedHome:
    data: Path  # simulator layout
    home: Path  # FRAUDSTREAM_HOME
    version: str

    @property
    def env(self) -> dict[str, str]:
        return {"FRAUDSTREAM_HOME": str(self.home)}

    @property
    def registry(self) -> Registry:
        return Registry(self.home / "registry")


def trained_home(root: Path, accounts: int = 60, days: int = 20) -> TrainedHome:
    events = synthetic_events(accounts=accounts, days=days)
    data = write_simulator_layout(root / "log", events, synthetic_feedback(events))
    home = root / "home"
    version = train_baseline(load_event_log(data), Registry(home / "registry"), FAST_PARAMS)
    return TrainedHome(data=data, home=home, version=version)
