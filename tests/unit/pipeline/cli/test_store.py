"""``fraudstream store``: refusals that need no broker."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.kafka import KafkaUnavailableError
from pipeline.store import StoreConfigError

runner = CliRunner()


def test_store_help_names_its_options() -> None:
    result = runner.invoke(app, ["store", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--dir", "--sample-rate", "--flush-seconds", "--join-timeout", "--group"):
        assert option in result.output


def test_store_refuses_a_zero_sample_rate(tmp_path: Path) -> None:
    result = runner.invoke(app, ["store", "--dir", str(tmp_path), "--sample-rate", "0"])
    assert isinstance(result.exception, StoreConfigError), result.output
    assert "sample-rate" in str(result.exception)


def test_store_without_a_broker_fails_in_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["store", "--dir", str(tmp_path), "--bootstrap", "127.0.0.1:1"])
    assert isinstance(result.exception, KafkaUnavailableError), result.output
    assert "fraudstream kafka up" in str(result.exception)
