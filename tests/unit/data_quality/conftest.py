"""Two simulated windows (reference and batch), generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.data_quality.datasets import simulate


@pytest.fixture(scope="session")
def reference_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate(tmp_path_factory.mktemp("reference"), seed=1)


@pytest.fixture(scope="session")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate(tmp_path_factory.mktemp("batch"), seed=2)
