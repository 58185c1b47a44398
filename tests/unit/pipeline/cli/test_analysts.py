"""``fraudstream simulate analysts``: a subcommand beside ``simulate [OPTIONS] [DIR]``."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.cli.analysts import parse_duration
from pipeline.kafka import KafkaUnavailableError

runner = CliRunner()


def test_simulate_lists_the_subcommand_and_analysts_has_its_own_help() -> None:
    result = runner.invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0, result.output
    assert "analysts" in result.output and "--events" in result.output
    result = runner.invoke(app, ["simulate", "analysts", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--analysts", "--capacity", "--error-rate", "--chargeback-delay"):
        assert option in result.output
    assert "--events" not in result.output


def test_analysts_reaches_for_the_broker_only_after_checking_its_options() -> None:
    bad = runner.invoke(app, ["simulate", "analysts", "--review-delay", "9-2"])
    assert bad.exit_code != 0 and "MIN-MAX" in bad.output
    bad = runner.invoke(app, ["simulate", "analysts", "--chargeback-delay", "soon"])
    assert bad.exit_code != 0 and "duration" in bad.output
    result = runner.invoke(app, ["simulate", "analysts", "--bootstrap", "127.0.0.1:1"])
    assert isinstance(result.exception, KafkaUnavailableError), result.output


def test_a_subcommand_name_in_place_of_dir_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--to", "parquet", "analysts"])
    assert result.exit_code != 0 and "subcommand" in result.output
    assert not (Path.cwd() / "analysts").exists()


def test_durations() -> None:
    assert parse_duration("30") == 30.0 and parse_duration("5m") == 300.0
    assert parse_duration("1.5d") == 129_600.0
    with pytest.raises(typer.BadParameter):
        parse_duration("-3s")
