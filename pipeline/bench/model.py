"""The model a bench serves: the registry's current one, or a baseline trained on the spot."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from models.registry import Registry
from pipeline.bench.exceptions import BenchError
from pipeline.bench.processes import run_cli

log = logging.getLogger(__name__)

TRAIN_TIMEOUT_S = 1800.0


def ensure_model(
    registry_dir: Path,
    work_dir: Path,
    env: Mapping[str, str],
    *,
    events: int = 100_000,
    say: Callable[[str], None] = log.info,
) -> str:
    """The current version; when there is none, simulate a Parquet log and train one.

    ``env`` must point FRAUDSTREAM_HOME at the home whose registry is ``registry_dir``: the
    training runs through the real CLI (`fraudstream simulate`, `fraudstream train`).
    """
    registry = Registry(registry_dir)
    current = registry.current()
    if current is not None:
        return current
    data = work_dir / "train-data"
    logs = work_dir / "train.log"
    say(f"no model in {registry_dir}: simulating {events:,} events and training a baseline "
        f"(log: {logs})")  # fmt: skip
    seconds = run_cli(
        ["simulate", "--to", "parquet", str(data), "--events", str(events), "--overwrite"],
        env,
        logs,
        timeout=TRAIN_TIMEOUT_S,
    )
    seconds += run_cli(["train", "--data", str(data)], env, logs, timeout=TRAIN_TIMEOUT_S)
    current = registry.current()
    if current is None:
        raise BenchError(f"`fraudstream train` left no current model in {registry_dir}; see {logs}")
    say(f"trained and promoted {current} in {seconds:.0f}s")
    return current
