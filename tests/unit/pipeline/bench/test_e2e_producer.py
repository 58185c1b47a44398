"""The benchmark's producer command: the options a run was given reach the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.bench import e2e
from pipeline.bench.e2e import E2EConfig, Mode
from pipeline.settings import Settings


def test_the_producer_gets_the_runs_rate_and_linger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []

    def fake_start(args: list[str], env: Any, log_file: Path) -> object:
        started.append(list(args))
        return object()

    monkeypatch.setattr(e2e, "start_cli", fake_start)
    config = E2EConfig(events=1000, rate=250.0, linger_ms=3, mode=Mode.LIVE, accounts=50)
    run = e2e._Run(config, Settings(home=tmp_path), say=lambda _: None)
    run.start_producer("127.0.0.1:9", config.rate)
    (args,) = started
    assert args[:3] == ["simulate", "--to", "kafka"]
    pairs = dict(zip(args[3::2], args[4::2], strict=True))
    assert pairs == {"--events": "1000", "--seed": "7", "--bootstrap": "127.0.0.1:9",
                     "--linger-ms": "3", "--rate": "250", "--accounts": "50"}  # fmt: skip
