"""Simulated streams shared by the simulator tests (generated once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
import pytest

from pipeline.simulator import MemorySink, Simulator, SimulatorConfig

START = date(2024, 3, 1)


@dataclass(frozen=True)
class Run:
    config: SimulatorConfig
    simulator: Simulator
    events: pl.DataFrame
    feedback: pl.DataFrame
    days: list


def simulate(config: SimulatorConfig) -> Run:
    simulator = Simulator(config)
    sink = MemorySink()
    for out in simulator:
        sink.write(out)
    return Run(config, simulator, sink.events(), sink.feedback(), sink.days)


def small_config(**overrides: object) -> SimulatorConfig:
    options: dict[str, object] = {
        "events": 20_000,
        "accounts": 1_000,
        "merchants": 400,
        "days": 10,
        "start": START,
        "seed": 11,
        "fraud_rate": 0.02,
    }
    options.update(overrides)
    return SimulatorConfig(**options)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def small_run() -> Run:
    """A small stream with a high fraud rate: every kind of row, quickly."""
    return simulate(small_config())


@pytest.fixture(scope="session")
def default_run() -> Run:
    """The CLI's defaults (100,000 events, 30 days), with a fixed start."""
    return simulate(SimulatorConfig(start=START))
