"""Rerun a retrain whenever enough new labels reached the store, or after a period."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from models.retrain.exceptions import RetrainError
from schemas import FraudstreamError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchConfig:
    #: rerun once this many labels arrived since the last run ...
    labels: int = 10_000
    #: ... or this many seconds after it, whichever comes first
    every_s: float = 86_400.0
    #: how often the store's feedback folder is counted
    poll_s: float = 60.0

    def __post_init__(self) -> None:
        if self.labels <= 0 or self.every_s <= 0 or self.poll_s <= 0:
            raise RetrainError(
                "--watch-labels, --watch-every and the poll interval must be positive, got "
                f"{self.labels}, {self.every_s}, {self.poll_s}"
            )


def count_labels(data_dir: Path) -> int:
    """Labels in ``data_dir/feedback/day=*/*.parquet`` (0 when there is no feedback yet)."""
    files = sorted(
        p for p in (data_dir / "feedback").glob("day=*/*.parquet") if not p.name.startswith(".")
    )
    if not files:
        return 0
    return int(pl.scan_parquet(files, hive_partitioning=False).select(pl.len()).collect().item())


def watch(
    run: Callable[[], object],
    data_dir: Path,
    config: WatchConfig,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    max_runs: int | None = None,
) -> int:
    """Call ``run`` now, then whenever ``config.labels`` new labels arrived or
    ``config.every_s`` passed; returns the number of runs (only ever, with ``max_runs``).

    A run that fails with a :class:`FraudstreamError` (no data yet, a broker away) is
    logged and the watch goes on; any other exception is a bug and ends it."""
    runs = 0
    while True:
        labels, started = count_labels(data_dir), clock()
        try:
            run()
        except FraudstreamError as err:  # e.g. no data yet: the next trigger tries again
            log.error("retrain failed, watching on: %s", err)
        runs += 1
        if max_runs is not None and runs >= max_runs:
            return runs
        while True:
            sleep(config.poll_s)
            arrived = count_labels(data_dir) - labels
            waited = clock() - started
            if arrived >= config.labels or waited >= config.every_s:
                log.info("retrain due new_labels=%d waited_s=%.0f", arrived, waited)
                break
