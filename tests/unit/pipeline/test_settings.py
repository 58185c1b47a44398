"""Settings from the environment: a refused value is one line naming its variable."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.settings import SettingsError, load_settings


def test_settings_load_from_fraudstream_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUDSTREAM_PRODUCER_COMPRESSION", "lz4")
    monkeypatch.setenv("FRAUDSTREAM_PARTITIONS", "8")
    settings = load_settings()
    assert settings.producer_compression == "lz4"
    assert settings.partitions == 8


def test_a_refused_value_names_every_variable_at_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUDSTREAM_PRODUCER_COMPRESSION", "brotli")
    monkeypatch.setenv("FRAUDSTREAM_PARTITIONS", "many")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("invalid setting ")
    assert "FRAUDSTREAM_PRODUCER_COMPRESSION: Input should be 'zstd'" in message
    assert "FRAUDSTREAM_PARTITIONS: Input should be a valid integer" in message
    assert "\n" not in message


def test_the_cli_refuses_a_bad_setting_before_any_command_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRAUDSTREAM_PRODUCER_COMPRESSION", "brotli")
    result = CliRunner().invoke(app, ["schemas", "export", "--help"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SettingsError)
