"""``watch`` reruns on new labels or after the period, whichever first (a fake clock)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from models.retrain import RetrainError, WatchConfig, count_labels, watch


def _labels(root: Path, n: int, part: int) -> None:
    day = root / "feedback" / f"day={date(2026, 1, 1 + part).isoformat()}"
    day.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"event_id": [f"e{part}-{i}" for i in range(n)]}).write_parquet(
        day / "part-0.parquet"
    )


class FakeTime:
    def __init__(self, root: Path, arrivals: dict[int, int]) -> None:
        self.now, self.polls, self.root, self.arrivals = 0.0, 0, root, arrivals

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.polls += 1
        if self.polls in self.arrivals:  # labels reach the store during this poll
            _labels(self.root, self.arrivals[self.polls], self.polls)


def test_reruns_on_labels_or_period(tmp_path: Path) -> None:
    assert count_labels(tmp_path) == 0
    _labels(tmp_path, 5, 0)
    assert count_labels(tmp_path) == 5
    fake = FakeTime(tmp_path, {2: 60, 3: 50})  # 110 labels by the 3rd poll
    runs: list[float] = []
    config = WatchConfig(labels=100, every_s=1000.0, poll_s=10.0)
    watch(lambda: runs.append(fake.now), tmp_path, config,
          clock=fake.clock, sleep=fake.sleep, max_runs=3)  # fmt: skip
    # first run at once; the second when 100 labels arrived (3rd poll); the third when
    # the period ran out with no labels (100 polls later)
    assert runs == [0.0, 30.0, 1030.0]


def test_a_failed_run_is_logged_and_the_watch_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeTime(tmp_path, {1: 20})
    runs: list[float] = []

    def run() -> None:
        runs.append(fake.now)
        if len(runs) == 1:
            raise RetrainError("no event files under the store yet")

    config = WatchConfig(labels=10, every_s=1000.0, poll_s=5.0)
    assert watch(run, tmp_path, config, clock=fake.clock, sleep=fake.sleep, max_runs=2) == 2
    assert runs == [0.0, 5.0]
    assert "no event files under the store yet" in caplog.text


def test_a_bug_in_a_run_ends_the_watch(tmp_path: Path) -> None:
    def run() -> None:
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        watch(run, tmp_path, WatchConfig(), clock=lambda: 0.0, sleep=lambda s: None)


def test_bad_watch_config() -> None:
    with pytest.raises(RetrainError, match="must be positive"):
        WatchConfig(labels=0)
