"""The demo's feedback loop: what it starts, and how it reads the store and the reports."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import orjson
import polars as pl

from models.manifest import Manifest, Thresholds
from models.registry import Registry
from pipeline.cli.demo import why_not_served
from pipeline.cli.demo_loop import FeedbackLoop, LoopOptions, loop_rows
from schemas.features import FeatureSpec


class Spawned:
    def __init__(self) -> None:
        self.calls: list[tuple[list[str], Path]] = []

    def __call__(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        self.calls.append((args, log))
        return subprocess.Popen([sys.executable, "-c", "pass"])


def test_starts_store_analysts_and_a_watcher_on_the_store(tmp_path: Path) -> None:
    loop = FeedbackLoop(tmp_path / "demo", Registry(tmp_path / "registry"))
    spawn = Spawned()
    options = LoopOptions(labels=123, every_s=45.0, review_delay="1-2", chargeback_delay="9s")
    for proc in [*loop.start_labels(spawn, options), loop.start_watcher(spawn, options)]:
        proc.wait(10)
    (store, _), (analysts, _), (watcher, log) = spawn.calls
    assert store[:3] == ["store", "--dir", str(loop.store_dir)]
    assert analysts[:2] == ["simulate", "analysts"]
    assert analysts[analysts.index("--review-delay") + 1] == "1-2"
    assert analysts[analysts.index("--chargeback-delay") + 1] == "9s"
    assert watcher[:2] == ["retrain", "--watch"]
    opts = dict(zip(watcher[2::2], watcher[3::2], strict=True))
    assert opts["--data"] == opts["--reference"] == str(loop.store_dir)
    assert opts["--watch-labels"] == "123" and opts["--watch-every"] == "45.0"
    assert opts["--out"] == str(loop.reports_dir) and loop.reports_dir.is_dir()
    assert log.parent == loop.folder


def test_reads_labels_and_finished_retrains(tmp_path: Path) -> None:
    loop = FeedbackLoop(tmp_path / "demo", Registry(tmp_path / "registry"))
    assert loop.labels() == 0 and loop.retrains() == []
    day = loop.store_dir / "feedback" / f"day={date(2026, 11, 29).isoformat()}"
    day.mkdir(parents=True)
    pl.DataFrame({"event_id": ["a", "b", "c"]}).write_parquet(day / "part-0.parquet")
    for stamp, outcome, seconds in (("20261129T100000Z", "kept", 30.0),
                                    ("20261129T100500Z", "promoted", 40.0)):  # fmt: skip
        folder = loop.reports_dir / stamp
        folder.mkdir(parents=True)
        body = {"outcome": outcome, "champion": "v1", "challenger": f"v-{outcome}",
                "headline": f"{outcome}!", "seconds": {"gate": 1.0, "train": seconds}}  # fmt: skip
        (folder / "retrain.json").write_bytes(orjson.dumps(body))
    (loop.reports_dir / "20261129T101000Z").mkdir()  # a run still going: no report yet
    assert loop.labels() == 3
    done = loop.retrains()
    assert [(r.outcome, r.challenger, r.seconds) for r in done] == [
        ("kept", "v-kept", 31.0),
        ("promoted", "v-promoted", 41.0),
    ]
    rows = dict(loop_rows(loop))
    assert rows["labels in the training store"] == "3"
    assert rows["retrains finished"] == "2"
    assert rows["last retrain"].startswith("promoted in 41s")


def test_the_demo_trains_again_when_the_current_model_cannot_be_served() -> None:
    """A model trained by an older fraudstream (another feature set) would be refused by the
    worker, so the demo trains a new one instead of starting a worker that cannot score."""
    cuts = {"transaction": Thresholds(review=0.5, block=0.9)}
    served = Manifest.for_spec(FeatureSpec(), kind="transformer", inputs=["cat"], thresholds=cuts)
    assert why_not_served(served) is None
    baseline = served.model_copy(update={"kind": "baseline"})
    assert "not a transformer" in (why_not_served(baseline) or "")
    older = served.model_copy(update={"feature_set_hash": "0" * 64})
    assert "another feature set" in (why_not_served(older) or "")
