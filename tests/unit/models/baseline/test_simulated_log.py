"""The baseline on the simulator's own output (when the simulator is installed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.baseline import BaselineParams, train_baseline
from models.data import load_event_log
from models.registry import Registry
from models.serving import OnnxScorer

simulator = pytest.importorskip("pipeline.simulator")


@pytest.mark.slow
def test_baseline_learns_the_simulated_scenarios(tmp_path: Path) -> None:
    config = simulator.SimulatorConfig(
        events=20_000, accounts=500, merchants=300, days=20, seed=3, fraud_rate=0.02
    )
    sink = simulator.ParquetSink(tmp_path / "log")
    for day in simulator.Simulator(config):
        sink.write(day)
    log = load_event_log(tmp_path / "log")
    assert len(log) == 20_000 and log.feedback is not None
    registry = Registry(tmp_path / "registry")
    version = train_baseline(log, registry, BaselineParams(threads=1, forest_trees=50))
    metrics = registry.manifest(version).metrics
    assert metrics["test_average_precision"] > 10 * metrics["test_base_rate"]
    assert OnnxScorer.load(registry).version == version
