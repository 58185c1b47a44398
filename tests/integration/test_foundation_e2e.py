"""The foundation end to end, through the real CLI and a real broker it starts itself.

kafka up → topics create → simulate 100,000 events with 1 % malformed → the topics hold
exactly the valid events (the same ones the simulator writes to Parquet for that seed),
each decodes, every malformed one is rejected with a reason → kafka down → kafka up on the
same data dir → every message is still there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from kafka import KafkaConsumer, TopicPartition

from pipeline.kafka.ports import free_port
from schemas import RECORD_BY_TOPIC, InvalidRecordError, Topic, decode
from tests.integration.conftest import REPO
from tests.integration.polling import poll_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.slow]

EVENTS = 100_000
SEED = 11
SIM_ARGS = ["--events", str(EVENTS), "--seed", str(SEED), "--accounts", "3000", "--days", "20"]
INPUT_TOPICS = (Topic.TRANSACTIONS.value, Topic.LOGINS.value, Topic.FEEDBACK.value)


def cli(*args: str, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, f"fraudstream {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def read_topics(bootstrap: str) -> dict[str, list[tuple[bytes | None, dict[str, bytes]]]]:
    """Every message of the input topics, from the beginning, until the end offsets."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = []
        for topic in INPUT_TOPICS:
            parts = poll_until(lambda t=topic: consumer.partitions_for_topic(t), timeout=30)
            tps += [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        end = consumer.end_offsets(tps)
        out: dict[str, list[tuple[bytes | None, dict[str, bytes]]]] = {t: [] for t in INPUT_TOPICS}

        def done() -> bool:
            for batch in consumer.poll(timeout_ms=500, max_records=50_000).values():
                for r in batch:
                    out[r.topic].append((r.value, dict(r.headers or [])))
            return all(consumer.position(tp) >= end[tp] for tp in tps)

        poll_until(done, timeout=180, interval=0, message="all input messages read")
        return out
    finally:
        consumer.close()


def test_simulated_stream_survives_a_broker_restart(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.setdefault("FRAUDSTREAM_HOME", str(REPO / ".state"))  # jars fetched once, shared
    port = free_port()
    data_dir = tmp_path / "broker"
    bootstrap = f"127.0.0.1:{port}"
    env["FRAUDSTREAM_KAFKA_BOOTSTRAP"] = bootstrap
    up = ["kafka", "up", "--port", str(port), "--data-dir", str(data_dir)]
    down = ["kafka", "down", "--data-dir", str(data_dir)]
    cli(*up, env=env)
    try:
        cli("topics", "create", "--partitions", "4", env=env)
        cli("simulate", "--to", "kafka", "--malformed-rate", "0.01", *SIM_ARGS, env=env)
        cli("simulate", "--to", "parquet", str(tmp_path / "twin"), *SIM_ARGS, env=env)

        first = read_topics(bootstrap)
        valid_ids: Counter[str] = Counter()
        malformed = 0
        for topic, messages in first.items():
            for value, headers in messages:
                if "fs-malformed" in headers:
                    malformed += 1
                    with pytest.raises(InvalidRecordError) as info:
                        decode(RECORD_BY_TOPIC[topic], value)
                    assert info.value.reason
                else:
                    record = decode(RECORD_BY_TOPIC[topic], value)
                    if topic != Topic.FEEDBACK.value:
                        valid_ids[record.event_id] += 1

        twin = pl.read_parquet(tmp_path / "twin" / "events" / "**" / "*.parquet")
        assert len(twin) == EVENTS
        assert set(valid_ids) == set(twin["event_id"].to_list())
        assert max(valid_ids.values()) == 1, "an event was delivered twice"
        assert 0.005 * EVENTS <= malformed <= 0.015 * EVENTS

        cli(*down, env=env)
        cli(*up, env=env)
        again = read_topics(bootstrap)
        assert {t: len(m) for t, m in again.items()} == {t: len(m) for t, m in first.items()}
        for topic in INPUT_TOPICS:
            assert sorted(v or b"" for v, _ in again[topic]) == sorted(
                v or b"" for v, _ in first[topic]
            )
    finally:
        subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *down], env=env, cwd=REPO, timeout=120
        )
