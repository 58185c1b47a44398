"""``fraudstream store`` on the real broker: killed, rewound and restarted, each event once.

The store runs as a real process. After it has written the first batch it gets SIGKILL and
its group is rewound to where the test began (a crash before the commit: everything comes
again); the restarted store must add the new messages and none of the old ones twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError, NoError

from models.data import load_event_log
from pipeline.kafka import create_topics
from pipeline.kafka.admin import admin_client
from pipeline.store import STORE_TOPICS
from schemas import (
    Channel,
    Decision,
    Feedback,
    FeedbackSource,
    Label,
    Login,
    Record,
    Score,
    Topic,
    Transaction,
    encode,
)
from tests.integration.conftest import REPO
from tests.integration.polling import poll_until

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


def _transaction(event_id: str, i: int) -> Transaction:
    return Transaction(
        event_id=event_id,
        account_id=f"acc-{i % 7}",
        ts=NOW - timedelta(minutes=30, seconds=i),
        amount=Decimal("10.5") + i,
        currency="EUR",
        merchant_id=f"m-{i % 3}",
        channel=Channel.ECOM,
    )


def _login(event_id: str, i: int) -> Login:
    return Login(
        event_id=event_id, account_id=f"acc-{i % 7}", ts=NOW - timedelta(minutes=20), success=True
    )


def _score(event: Transaction | Login, version: str = "v1") -> Score:
    alerted = int(event.event_id.rsplit("-", 1)[1]) % 4 == 0
    return Score(
        event_id=event.event_id,
        account_id=event.account_id,
        event_type=event.event_type,
        fraud_score=0.8 if alerted else 0.1,
        anomaly_score=0.5,
        decision=Decision.REVIEW if alerted else Decision.ALLOW,
        reasons=[],
        model_version=version,
        latency_ms=0.2,
        scored_at=NOW,
        event_ts=event.ts,
    )


def _label(event_id: str, label: Label = Label.FRAUD) -> Feedback:
    return Feedback(
        event_id=event_id,
        account_id="acc-0",
        ts=NOW,
        label=label,
        source=FeedbackSource.ANALYST,
        analyst_id="analyst-001",
    )


def _send(bootstrap: str, records: Iterable[Record]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        for record in records:
            if isinstance(record, Score):  # the worker keys scores by event id
                topic, key = Topic.SCORES.value, record.event_id
            else:
                assert isinstance(record, Transaction | Login | Feedback)
                topic, key = record.topic, record.account_id
            producer.send(topic, key=key.encode(), value=encode(record))
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def _end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = []
        for topic in STORE_TOPICS:
            parts = poll_until(lambda t=topic: consumer.partitions_for_topic(t), message=topic)
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        return dict(consumer.end_offsets(tps))
    finally:
        consumer.close()


def _set_group_offsets(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> bool:
    """Commit ``offsets`` for ``group``; False while the group still has a (dead) member."""
    try:
        with admin_client(bootstrap) as admin:
            result = admin.reset_group_offsets(group, dict(offsets))
    except KafkaError:
        return False
    return all(r["error"] is NoError for r in result.values())


def _read(folder: Path, ids: set[str]) -> pl.DataFrame:
    files = sorted(folder.glob("day=*/part-*.parquet"))
    if not files:
        return pl.DataFrame({"event_id": []}, schema={"event_id": pl.String})
    frame = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    return frame.filter(pl.col("event_id").is_in(list(ids)))


class StoreProcess:
    def __init__(self, bootstrap: str, directory: Path, group: str, home: Path) -> None:
        self.args = [
            sys.executable, "-m", "pipeline.cli", "store", "--dir", str(directory),
            "--group", group, "--bootstrap", bootstrap, "--flush-seconds", "0.5",
            "--join-timeout", "3",
        ]  # fmt: skip
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDSTREAM_")}
        self.env.update(FRAUDSTREAM_HOME=str(home), PYTHONUNBUFFERED="1")
        self.log = home / "store.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )

    def alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"store exited:\n{self.log.read_text()[-3000:]}")
        return True

    def signal(self, signum: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=60)

    def stop_quietly(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def test_store_keeps_every_event_once_across_a_kill_and_a_replay(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    create_topics(kafka_bootstrap, topics=STORE_TOPICS)
    run = uuid.uuid4().hex[:8]
    group, directory = f"test-store-{run}", tmp_path / "store"
    start = _end_offsets(kafka_bootstrap)
    assert poll_until(lambda: _set_group_offsets(kafka_bootstrap, group, start), timeout=30)

    tx = [_transaction(f"tx{run}-{i}", i) for i in range(30)]
    lg = [_login(f"lg{run}-{i}", i) for i in range(10)]
    first = tx[:20] + lg[:6]
    labels_a = [_label(e.event_id) for e in first[:4]]
    # half of the scores come before their events
    _send(kafka_bootstrap, [_score(e) for e in first[::2]])
    _send(kafka_bootstrap, [*first, *labels_a])
    _send(kafka_bootstrap, [_score(e) for e in first[1::2]])

    store = StoreProcess(kafka_bootstrap, directory, group, tmp_path / "home")
    store.start()
    try:
        ids_a = {e.event_id for e in first}
        poll_until(
            lambda: (
                store.alive()
                and _read(directory / "events", ids_a).height == len(ids_a)
                and _read(directory / "feedback", ids_a).height == len(labels_a)
            ),
            timeout=120,
            interval=0.5,
            message="the first batch written",
        )
        assert store.signal(signal.SIGKILL) == -signal.SIGKILL
        # a crash before the commit: the restarted store reads everything again
        poll_until(
            lambda: _set_group_offsets(kafka_bootstrap, group, start),
            timeout=60,
            interval=1,
            message="the dead member's session expired and the group rewound",
        )

        second = tx[20:] + lg[6:]
        unscored = [_transaction(f"un{run}-{i}", i) for i in range(3)]
        labels_b = [_label(e.event_id, Label.GENUINE) for e in second[:3]]
        _send(kafka_bootstrap, [*second, *unscored, *first[:5]])  # and 5 events again
        _send(kafka_bootstrap, [_score(e) for e in second])
        _send(kafka_bootstrap, [_score(e, version="v2") for e in first[:5]])  # second scores
        _send(kafka_bootstrap, [*labels_b, *labels_a[:2]])  # and 2 labels again

        store.start()
        everything = {e.event_id for e in [*tx, *lg, *unscored]}
        poll_until(
            lambda: (
                store.alive()
                and _read(directory / "events", everything).height >= len(everything)
                and _read(directory / "feedback", everything).height >= 7
            ),
            timeout=120,
            interval=0.5,
            message="the second batch written",
        )
        assert store.signal(signal.SIGTERM) == 0, store.log.read_text()[-3000:]
    finally:
        store.stop_quietly()

    events = _read(directory / "events", everything)
    assert events.height == len(everything)
    assert events.get_column("event_id").n_unique() == len(everything)
    scored = events.filter(pl.col("event_id").is_in([e.event_id for e in [*tx, *lg]]))
    assert scored.get_column("model_version").to_list() == ["v1"] * len(tx + lg)
    expected = {e.event_id: _score(e).decision.value for e in [*tx, *lg]}
    assert dict(zip(scored["event_id"], scored["decision"], strict=True)) == expected
    late = events.filter(pl.col("event_id").str.starts_with(f"un{run}"))
    assert late.height == 3 and late.get_column("decision").null_count() == 3
    feedback = _read(directory / "feedback", everything)
    assert feedback.height == 7

    log = load_event_log(directory)
    mine = log.events.filter(pl.col("event_id").is_in(list(everything)))
    assert mine.height == len(everything)
    labelled = mine.filter(pl.col("is_fraud").is_not_null())
    assert dict(zip(labelled["event_id"], labelled["is_fraud"], strict=True)) == {
        **{fb.event_id: True for fb in labels_a},
        **{fb.event_id: False for fb in labels_b},
    }
