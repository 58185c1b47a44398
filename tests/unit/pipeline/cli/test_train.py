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


@pytest.mark.slow
def test_transformer_trains_resumes_and_registers(cli: typer.Typer, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    events = synthetic_events(accounts=60, days=20)
    data = write_simulator_layout(tmp_path / "log", events, synthetic_feedback(events))
    home, checkpoints = tmp_path / "home", tmp_path / "ckpt"
    args = ["train", "--model", "transformer", "--data", str(data), "--window", "8",
            "--epochs", "1", "--pretrain-epochs", "1", "--threads", "1",
            "--checkpoint-dir", str(checkpoints)]  # fmt: skip
    runner = CliRunner()
    first = runner.invoke(cli, args, env={"FRAUDSTREAM_HOME": str(home)})
    assert first.exit_code == 0, first.output
    assert "int8_ap_drop" in first.output and "served graph" in first.output
    for stage in ("pretrain", "finetune"):
        assert (checkpoints / stage / "LATEST").is_file()
    # same run again: both stages resume as finished, a second version is registered
    second = runner.invoke(cli, args, env={"FRAUDSTREAM_HOME": str(home)})
    assert second.exit_code == 0, second.output
    registry = Registry(home / "registry")
    v1, v2 = registry.versions()
    assert registry.current() == v2 and registry.manifest(v2).parent_version == v1
    assert registry.manifest(v1).kind == registry.manifest(v2).kind == "transformer"
    ap = [registry.manifest(v).metrics["test_average_precision"] for v in (v1, v2)]
    assert ap[0] == pytest.approx(ap[1], abs=1e-6)


def test_transformer_options_are_refused_for_the_baseline(cli: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["train", "--data", str(tmp_path), "--epochs", "3"],
        env={"FRAUDSTREAM_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert result.exit_code == 2
    assert "only apply to --model transformer" in result.output
