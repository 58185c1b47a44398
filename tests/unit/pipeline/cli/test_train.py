"""``fraudstream train`` drives the baseline trainer and leaves a promoted model."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from models.features import MappingError
from models.registry import Registry
from pipeline.cli.train import train
from tests.unit.models.synthetic import (
    synthetic_events,
    synthetic_feedback,
    write_simulator_layout,
)


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """test root"""

    app.command("train")(train)
    return app


def test_train_registers_and_promotes(cli: typer.Typer, tmp_path: Path) -> None:
    events = synthetic_events(accounts=60, days=20)
    data = write_simulator_layout(tmp_path / "log", events, synthetic_feedback(events))
    home = tmp_path / "home"
    result = CliRunner().invoke(
        cli,
        ["train", "--data", str(data), "--threads", "1"],
        env={"FRAUDSTREAM_HOME": str(home)},
    )
    assert result.exit_code == 0, result.output
    registry = Registry(home / "registry")
    current = registry.current()
    assert current is not None and current in result.output
    assert "test_average_precision" in result.output
    assert registry.manifest(current).parent_version is None


def test_unknown_model_and_bad_mapping(cli: typer.Typer, tmp_path: Path) -> None:
    env = {"FRAUDSTREAM_HOME": str(tmp_path / "home")}
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "--model", "gpt", "--data", str(tmp_path)], env=env)
    assert result.exit_code == 2
    data = tmp_path / "x.csv"
    data.write_text("id,acct\n1,a\n")
    result = runner.invoke(cli, ["train", "--data", str(data)], env=env)
    assert isinstance(result.exception, MappingError)
    assert "required field 'event_id'" in str(result.exception)
