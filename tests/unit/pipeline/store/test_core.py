"""The store without Kafka: join, dedupe, sampling, crash safety and the on-disk layout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from models.data import load_event_log
from pipeline.store import StoreConfig, StoreCore, StoreLockedError, sample_point
from pipeline.store.compact import recover
from pipeline.store.files import part_files
from schemas import Decision, FeedbackSource, Label, Topic
from tests.unit.pipeline.store.records import (
    DAY,
    feedback,
    login,
    message,
    raw,
    score,
    transaction,
)


def _config(root: Path, **overrides: object) -> StoreConfig:
    options: dict = {"directory": root, "join_timeout_s": 5.0, "promote_seconds": 0.001}
    options.update(overrides)
    return StoreConfig(**options)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def core(root: Path) -> Iterator[StoreCore]:
    store = StoreCore(_config(root))
    store.open(now=0.0)
    yield store
    store.close()


def _events(root: Path) -> pl.DataFrame:
    return pl.read_parquet(root / "events" / "day=*" / "*.parquet", hive_partitioning=False)


def test_each_event_lands_once_with_the_first_score_it_got(core: StoreCore, root: Path) -> None:
    msgs = [
        message(transaction("e1")),
        message(score("e2", Decision.REVIEW, 0.8, event_type="login")),  # score first
        message(login("e2")),
        message(score("e1", Decision.BLOCK, 0.95)),
        message(transaction("e1")),  # redelivered event
        message(score("e1", version="v2")),  # second score for a written event
        message(transaction("e3", DAY + timedelta(days=1))),  # never scored
        message(score("e2", version="v2", event_type="login")),
        message(score("e4", Decision.REVIEW, 0.5)),  # two scores before their event
        message(score("e4", Decision.ALLOW, 0.1, version="v2")),
        message(transaction("e4")),
    ]
    for m in msgs:
        core.handle(m, now=1.0)
    core.flush(now=2.0)
    core.tick(now=10.0)  # e3 waited past the join timeout
    core.flush(now=10.0)
    events = _events(root).sort("event_id")
    assert events.get_column("event_id").to_list() == ["e1", "e2", "e3", "e4"]
    assert events.get_column("decision").to_list() == ["block", "review", None, "review"]
    assert events.get_column("model_version").to_list() == ["v1", "v1", None, "v1"]
    assert events.get_column("event_type").to_list()[:3] == ["transaction", "login", "transaction"]
    assert events.get_column("amount").to_list()[0] == 42.5
    assert sorted(p.name for p in (root / "events").iterdir()) == [
        "day=2024-03-01",
        "day=2024-03-02",
    ]
    assert core.stats["duplicate_events"] == 1 and core.stats["duplicate_scores"] == 1
    assert core.stats["scores_after_write"] == 2 and core.tracker.pending() == 0


def test_offsets_are_committable_only_once_rows_are_on_disk(core: StoreCore) -> None:
    tp = (Topic.TRANSACTIONS.value, 0)
    core.handle(message(transaction("a"), offset=0), now=0)
    core.handle(message(score("a"), offset=0), now=0)
    core.handle(message(transaction("b"), offset=1), now=0)  # waits for its score
    assert core.tracker.committable()[tp] == 0  # "a" is joined but not written yet
    result = core.flush(now=1)
    assert result.offsets[tp] == 1  # "a" on disk; "b" still waits
    assert result.offsets[(Topic.SCORES.value, 0)] == 1
    core.tick(now=6)
    assert core.flush(now=6).offsets[tp] == 2


def test_invalid_messages_are_skipped(core: StoreCore, root: Path) -> None:
    core.handle(raw(Topic.TRANSACTIONS.value, b"{not json"), now=0)
    core.handle(raw(Topic.FEEDBACK.value, b'{"event_id": "x"}'), now=0)
    result = core.flush(now=1)
    assert core.stats["invalid"] == 2 and result.written.files == []
    assert core.tracker.pending() == 0


def test_feedback_is_deduplicated_by_event_source_label_and_time(
    core: StoreCore, root: Path
) -> None:
    first = feedback("e1")
    for record in (
        first,
        first,
        feedback("e1", source=FeedbackSource.ANALYST),
        feedback("e1", ts=first.ts + timedelta(hours=1)),
    ):
        core.handle(message(record), now=0)
    core.flush(now=1)
    rows = pl.read_parquet(root / "feedback" / "day=*" / "*.parquet")
    assert rows.height == 3 and core.stats["duplicate_feedback"] == 1


def test_a_restart_that_reads_everything_again_adds_nothing(root: Path) -> None:
    msgs = [
        message(transaction("e1")),
        message(score("e1", Decision.REVIEW, 0.6)),
        message(login("e2")),
        message(score("e2", event_type="login")),
        message(feedback("e1")),
    ]
    first = StoreCore(_config(root))
    first.open(now=0)
    for m in msgs:
        first.handle(m, now=0)
    first.flush(now=1)
    first.close()  # ... and the commit never happened: everything comes again
    files = sorted(root.rglob("part-*.parquet"))

    second = StoreCore(_config(root))
    second.open(now=0)
    for m in msgs:
        second.handle(m, now=0)
    second.tick(now=100)
    result = second.flush(now=100)
    second.close()
    assert result.written.files == [] and sorted(root.rglob("part-*.parquet")) == files
    assert second.stats["duplicate_events"] == 2 and second.stats["scores_after_write"] == 2
    assert second.stats["duplicate_feedback"] == 1 and second.tracker.pending() == 0

    log = load_event_log(root)  # the layout the training code reads
    assert sorted(log.events.get_column("event_id").to_list()) == ["e1", "e2"]
    labels = dict(zip(log.events["event_id"], log.events["is_fraud"], strict=True))
    assert labels == {"e1": True, "e2": None}
    assert log.feedback is not None and log.feedback.height == 1


def test_only_one_store_writes_to_a_directory(core: StoreCore, root: Path) -> None:
    with pytest.raises(StoreLockedError, match="another"):
        StoreCore(_config(root)).open(now=0)


def _ids(rate: float, keep: bool, n: int) -> list[str]:
    found = [f"s-{i}" for i in range(1000) if (sample_point(f"s-{i}") < rate) == keep]
    return found[:n]


def test_sampled_out_events_are_held_and_promoted_when_a_label_arrives(root: Path) -> None:
    kept, dropped = _ids(0.3, True, 2), _ids(0.3, False, 3)
    store = StoreCore(_config(root, sample_rate=0.3, promote_seconds=1000.0))
    store.open(now=0)
    for event_id in kept + dropped:
        store.handle(message(transaction(event_id)), now=0)
        store.handle(message(score(event_id)), now=0)
    alerted = dropped[2]
    store.handle(message(transaction("alert-1")), now=0)
    store.handle(message(score("alert-1", Decision.REVIEW, 0.7)), now=0)
    store.handle(message(feedback(dropped[0])), now=0)  # late label, promotion not yet due
    store.flush(now=1)
    store.close()
    assert sorted(_events(root)["event_id"]) == sorted([*kept, "alert-1"])
    assert alerted not in _events(root)["event_id"]

    # a restart finds the label on disk and promotes its held event
    again = StoreCore(_config(root, sample_rate=0.3))
    again.open(now=0)
    again.handle(message(feedback(dropped[1], Label.GENUINE)), now=0)
    result = again.flush(now=1)
    again.close()
    assert result.promoted == 2
    assert sorted(_events(root)["event_id"]) == sorted([*kept, "alert-1", *dropped[:2]])


def test_compaction_merges_a_days_parts(root: Path) -> None:
    store = StoreCore(_config(root, compact_files=3))
    store.open(now=0)
    for i in range(3):
        store.handle(message(transaction(f"c{i}")), now=0)
        store.handle(message(score(f"c{i}")), now=0)
        store.flush(now=i + 1)
    store.close()
    (part,) = part_files(root / "events" / "day=2024-03-01")
    assert pl.read_parquet(part).get_column("event_id").to_list() == ["c0", "c1", "c2"]


def test_an_interrupted_compaction_is_finished_on_restart(root: Path) -> None:
    folder = root / "feedback" / "day=2024-03-04"
    folder.mkdir(parents=True)
    for name in ("part-a.parquet", "part-b.parquet", "part-ab.parquet"):
        pl.DataFrame({"event_id": [name]}).write_parquet(folder / name)
    plan = {"output": "part-ab.parquet", "inputs": ["part-a.parquet", "part-b.parquet"]}
    (folder / ".compact-part-ab.json").write_text(json.dumps(plan))
    unfinished = root / "events" / "day=2024-03-04"
    unfinished.mkdir(parents=True)
    pl.DataFrame({"event_id": ["x"]}).write_parquet(unfinished / "part-x.parquet")
    plan = {"output": "part-never.parquet", "inputs": ["part-x.parquet"]}
    (unfinished / ".compact-part-never.json").write_text(json.dumps(plan))

    assert recover(root) == 2
    assert [p.name for p in part_files(folder)] == ["part-ab.parquet"]
    assert [p.name for p in part_files(unfinished)] == ["part-x.parquet"]
    assert not list(root.rglob(".compact-*"))
