"""``fraudstream simulate`` end to end to Parquet, and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()
SMALL = ["--events", "3000", "--accounts", "300", "--merchants", "300", "--days", "3"]


def test_simulate_to_parquet(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = runner.invoke(
        app,
        ["simulate", "--to", "parquet", str(out), *SMALL, "--start", "2024-01-01", "--seed", "3"],
    )
    assert result.exit_code == 0, result.output
    assert "fraud events" in result.output and "events/s" in result.output
    events = pl.read_parquet(out / "events", hive_partitioning=True)
    assert events.height == 3000
    manifest = json.loads((out / "simulation.json").read_text())
    assert manifest["options"]["seed"] == 3
    assert manifest["counts"]["transactions"] + manifest["counts"]["logins"] == 3000


def test_label_delay_option_is_applied(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["simulate", "--to", "parquet", str(out), *SMALL, "--start", "2024-01-01"]
    result = runner.invoke(app, [*args, "--label-delay-days", "5-6", "--fraud-rate", "0.05"])
    assert result.exit_code == 0, result.output
    events = pl.read_parquet(out / "events").select("event_id", ts_event="ts")
    fb = (
        pl.read_parquet(out / "feedback")
        .filter(pl.col("label") == "fraud")
        .join(events, on="event_id")
    )
    days = (fb["ts"] - fb["ts_event"]).dt.total_seconds() / 86_400
    assert fb.height > 0 and days.min() >= 5 and days.max() <= 6


def test_refusals(tmp_path: Path) -> None:
    cases = [
        (["simulate", "--to", "parquet", *SMALL], "DIR"),
        (["simulate", "--to", "parquet", str(tmp_path), "--malformed-rate", "0.1"], "Kafka"),
        (["simulate", "--to", "parquet", str(tmp_path), "--rate", "10"], "kafka"),
        (["simulate", "--to", "kafka", str(tmp_path)], "DIR"),
        (["simulate", "--to", "parquet", str(tmp_path), "--label-delay-days", "9-2"], "MIN"),
    ]
    for args, needle in cases:
        result = runner.invoke(app, args)
        assert result.exit_code != 0, args
        assert needle in result.output + str(result.exception), (args, result.output)


def test_simulated_period_in_the_future_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["simulate", "--to", "parquet", str(tmp_path), *SMALL, "--start", "2999-01-01"]
    )
    assert result.exit_code != 0
    assert "earlier --start" in str(result.exception)
