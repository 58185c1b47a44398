"""``simulate --to kafka`` for real: every message acknowledged, readable, routed by account."""

from __future__ import annotations

import time
import uuid
from datetime import date

import numpy as np
import pytest
from kafka import KafkaConsumer, TopicPartition

from pipeline.simulator import (
    HEADER_IS_FRAUD,
    HEADER_SCENARIO,
    MessageStream,
    Simulator,
    SimulatorConfig,
    SinkError,
)
from pipeline.simulator.kafka_sink import KafkaSink, KafkaSinkConfig
from pipeline.simulator.malformed import HEADER
from schemas import Feedback, InvalidRecordError, Login, Transaction, decode
from tests.integration.conftest import TopicFactory
from tests.integration.polling import poll_until

pytestmark = pytest.mark.integration

CONFIG = SimulatorConfig(
    events=3_000, accounts=300, merchants=300, days=3, start=date(2024, 1, 1), fraud_rate=0.03
)


def _read(bootstrap: str, topic: str, expected: int) -> list:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    try:
        parts = poll_until(lambda: consumer.partitions_for_topic(topic), message=f"{topic}")
        consumer.assign([TopicPartition(topic, p) for p in sorted(parts)])
        consumer.seek_to_beginning()
        records: list = []

        def collected() -> bool:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
            return len(records) >= expected

        poll_until(collected, timeout=60, interval=0, message=f"{expected} records on {topic}")
        return records
    finally:
        consumer.close()


def test_simulated_stream_is_delivered_and_decodable(
    kafka_bootstrap: str, unique_topic: TopicFactory
) -> None:
    topics = {
        Transaction.topic: unique_topic("tx", partitions=3),
        Login.topic: unique_topic("lg", partitions=3),
        Feedback.topic: unique_topic("fb", partitions=3),
    }
    stream = MessageStream(CONFIG.events, 0.02, np.random.default_rng(1))
    sink = KafkaSink(KafkaSinkConfig(bootstrap=kafka_bootstrap, topics=topics), stream)
    simulator = Simulator(CONFIG)
    for out in simulator:
        sink.write(out)
    sink.close()
    assert sink.delivered == sink.sent and not sink.failed
    n_bad = sum(stream.malformed.values())
    assert n_bad == round(CONFIG.events * 0.02)

    tx_topic, login_topic = topics[Transaction.topic], topics[Login.topic]
    events = _read(kafka_bootstrap, tx_topic, sink.sent_by_topic[tx_topic])
    events += _read(kafka_bootstrap, login_topic, sink.sent_by_topic[login_topic])
    expected = CONFIG.events + n_bad
    assert len(events) == expected
    partition_of: dict[bytes, int] = {}
    frauds = 0
    for rec in events:
        headers = dict(rec.headers)
        record_type = Transaction if rec.topic == topics[Transaction.topic] else Login
        assert partition_of.setdefault(rec.key, rec.partition) == rec.partition  # co-partitioned
        if HEADER in headers:
            with pytest.raises(InvalidRecordError):
                decode(record_type, rec.value)
            continue
        record = decode(record_type, rec.value)
        assert rec.key == record.account_id.encode()
        frauds += headers[HEADER_IS_FRAUD] == b"1"
        assert (HEADER_SCENARIO in headers) == (headers[HEADER_IS_FRAUD] == b"1")
    assert frauds == simulator.stats.fraud_events
    labels = _read(kafka_bootstrap, topics[Feedback.topic], stream.counts["feedback"])
    assert len(labels) == simulator.stats.feedback_fraud + simulator.stats.feedback_genuine
    for rec in labels:
        assert decode(Feedback, rec.value).account_id.encode() == rec.key


def test_a_missing_topic_is_one_clear_error(kafka_bootstrap: str) -> None:
    missing = f"test.missing.{uuid.uuid4().hex[:8]}"
    config = KafkaSinkConfig(
        bootstrap=kafka_bootstrap, topics={Transaction.topic: missing}, connect_timeout_s=3
    )
    with pytest.raises(SinkError, match="topics create"):
        KafkaSink(config, MessageStream(10, 0.0, np.random.default_rng(0)))


def test_rate_paces_the_events(kafka_bootstrap: str, unique_topic: TopicFactory) -> None:
    topics = {t.topic: unique_topic(t.__name__.lower()) for t in (Transaction, Login, Feedback)}
    config = SimulatorConfig(
        events=600, accounts=100, merchants=300, days=2, start=date(2024, 1, 1)
    )
    sink = KafkaSink(
        KafkaSinkConfig(bootstrap=kafka_bootstrap, topics=topics, rate=300.0),
        MessageStream(config.events, 0.0, np.random.default_rng(0)),
    )
    started = time.monotonic()
    for out in Simulator(config):
        sink.write(out)
    sink.close()
    assert sink.sent["event"] == 600
    assert time.monotonic() - started >= 599 / 300 * 0.95
