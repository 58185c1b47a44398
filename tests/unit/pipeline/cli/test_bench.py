"""``fraudstream bench e2e`` refuses contradictory options before starting anything."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli.app import app


def test_rate_and_warmup_are_for_live_runs_and_guarantees_are_known(tmp_path: Path) -> None:
    env = {"FRAUDSTREAM_HOME": str(tmp_path)}
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "e2e", "--mode", "drain", "--rate", "100"], env=env)
    assert result.exit_code == 2 and "--rate" in result.output
    result = runner.invoke(app, ["bench", "e2e", "--guarantee", "at_most_once"], env=env)
    assert result.exit_code == 2 and "--guarantee" in result.output
    result = runner.invoke(app, ["bench", "e2e", "--broker-warmup", "1000"], env=env)
    assert result.exit_code == 2 and "--broker-warmup" in result.output  # drain is the default
    assert not (tmp_path / "bench").exists()  # nothing was started
